import { z } from 'zod';
import { SettingsError } from '../../config/settingsError.js';

/**
 * How the app fetches over HTTP (files over HTTP and REST sources). This is server-side
 * fetching of URLs a catalog names: every request and every redirect hop must go to an allowed
 * host, and never to a loopback, private or link-local address unless that is allowed (local
 * demos and tests); bodies are capped.
 */
export interface HttpSettings {
  /** Host names allowed (exact, or `*.example.com` for any sub-domain); IP literals as written. */
  allowedHosts: string[];
  /** Allow loopback, private (RFC 1918, ULA) and link-local addresses (default false). */
  allowPrivateAddresses: boolean;
  /** Largest body, after decompression, in bytes. */
  maxBytes: number;
  /** Redirects followed per request. */
  maxRedirects: number;
  /** Waiting for response headers, and between two chunks of a body (ms). */
  timeoutMs: number;
}

export const DEFAULT_ALLOWED_HOSTS = ['raw.githubusercontent.com', 'accounts.spotify.com', 'api.spotify.com'];

const schema = z.object({
  HTTP_ALLOWED_HOSTS: z
    .string()
    .default(DEFAULT_ALLOWED_HOSTS.join(','))
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0))
    .refine((hosts) => hosts.every((h) => /^(\*\.)?[a-z0-9.:[\]-]+$/.test(h)), 'must be a comma-separated list of host names (optionally *.domain)'),
  HTTP_ALLOW_PRIVATE_ADDRESSES: z.enum(['true', 'false']).default('false'),
  HTTP_MAX_BYTES: z.coerce.number().int().min(1).max(1024 ** 4).default(4 * 1024 ** 3),
  HTTP_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  HTTP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
});

export function loadHttpSettings(env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  return {
    allowedHosts: e.HTTP_ALLOWED_HOSTS,
    allowPrivateAddresses: e.HTTP_ALLOW_PRIVATE_ADDRESSES === 'true',
    maxBytes: e.HTTP_MAX_BYTES,
    maxRedirects: e.HTTP_MAX_REDIRECTS,
    timeoutMs: e.HTTP_TIMEOUT_SECONDS * 1000,
  };
}
