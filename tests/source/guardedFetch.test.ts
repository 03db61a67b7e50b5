import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedFetch, isPrivateAddress } from '../../shared/source/http/guardedFetch.js';
import type { HttpSettings } from '../../shared/source/http/httpSettings.js';
import { loadHttpSettings } from '../../shared/source/http/httpSettings.js';
import { RawFileHost } from '../../local/rawFileHost.js';

/**
 * The fetcher's guards against a real loopback server: what it refuses is refused before a
 * byte is read, and the refusal names the URL and the setting that decides it.
 */
let host: RawFileHost;
const base: HttpSettings = { allowedHosts: ['127.0.0.1', 'localhost'], allowPrivateAddresses: true, maxBytes: 1024, maxRedirects: 2, timeoutMs: 2000 };
const fetchers: GuardedFetch[] = [];
const fetcher = (s: Partial<HttpSettings> = {}): GuardedFetch => {
  const f = new GuardedFetch({ ...base, ...s });
  fetchers.push(f);
  return f;
};

beforeAll(async () => {
  host = await new RawFileHost().start();
  host.set('/a.csv', { body: 'a\n1\n' });
  host.set('/to-localhost', { redirectTo: `${host.url.replace('127.0.0.1', 'localhost')}/a.csv` });
  host.set('/to-elsewhere', { redirectTo: 'http://example.invalid/a.csv' });
  host.set('/to-link-local', { redirectTo: 'http://169.254.169.254/latest/meta-data/' });
});
afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await host?.close();
});

describe('the HTTP fetch guards', () => {
  it('fetches an allowed host and reads the body', async () => {
    const res = await fetcher().get(`${host.url}/a.csv`);
    expect(res.status).toBe(200);
    expect(Buffer.concat(await res.body.toArray()).toString()).toBe('a\n1\n');
  });

  it('refuses a host that is not allowed, on the first request and on a redirect hop', async () => {
    await expect(fetcher({ allowedHosts: ['raw.githubusercontent.com'] }).get(`${host.url}/a.csv`)).rejects.toThrow(/host 127\.0\.0\.1 is not in HTTP_ALLOWED_HOSTS/);
    await expect(fetcher().get(`${host.url}/to-elsewhere`)).rejects.toThrow(/example\.invalid is not in HTTP_ALLOWED_HOSTS \(redirected from .*\/to-elsewhere\)/);
  });

  it('refuses loopback and link-local addresses unless allowed: IP literals, names that resolve to them, redirects to them', async () => {
    const strict = fetcher({ allowPrivateAddresses: false, allowedHosts: ['127.0.0.1', 'localhost', '169.254.169.254'] });
    await expect(strict.get(`${host.url}/a.csv`)).rejects.toThrow(/address 127\.0\.0\.1 is loopback, private or link-local \(HTTP_ALLOW_PRIVATE_ADDRESSES is false\)/);
    await expect(strict.get(`${host.url.replace('127.0.0.1', 'localhost')}/a.csv`)).rejects.toThrow(/localhost resolves only to private or loopback addresses/);
    // Every hop goes through the same checks: a redirect to the metadata address is refused by
    // the allow-list, and by the address rule when the name is allowed but private is not.
    await expect(fetcher().get(`${host.url}/to-link-local`)).rejects.toThrow(/host 169\.254\.169\.254 is not in HTTP_ALLOWED_HOSTS \(redirected from/);
    await expect(fetcher({ allowPrivateAddresses: false, allowedHosts: ['169.254.169.254'] }).get('http://169.254.169.254/latest/meta-data/')).rejects.toThrow(/169\.254\.169\.254 is loopback, private or link-local/);
  });

  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['140.82.112.3', '185.199.108.133', '2606:50c0:8000::154']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('reads its settings from app settings, naming a bad one', () => {
    expect(loadHttpSettings({})).toMatchObject({ allowedHosts: ['raw.githubusercontent.com', 'accounts.spotify.com', 'api.spotify.com'], allowPrivateAddresses: false, maxRedirects: 5 });
    expect(loadHttpSettings({ HTTP_ALLOWED_HOSTS: 'Example.com, *.github.io', HTTP_MAX_BYTES: '100' })).toMatchObject({ allowedHosts: ['example.com', '*.github.io'], maxBytes: 100 });
    expect(() => loadHttpSettings({ HTTP_MAX_REDIRECTS: '99' })).toThrow(/HTTP_MAX_REDIRECTS/);
  });
});
