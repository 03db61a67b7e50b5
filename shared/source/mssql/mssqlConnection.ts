import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type mssql from 'mssql';
import { azureCredential } from '../../azure/credential.js';
import { SourceError } from '../source.js';

/**
 * SOURCE_URL for SQL Server, in either of its two spellings, read into one settings object:
 *
 *   mssql://[user:password@]host[:port]/database[?encrypt=&trustServerCertificate=&authentication=&clientId=&...]
 *   Server=tcp:host,1433;Database=db;Authentication=Active Directory Default;Encrypt=True;...
 *
 * Both forms end in the same pool configuration, so pool size and timeouts apply to both
 * (mssql's own ADO parser ignores them, and maps every Authentication except "Active Directory
 * Integrated" to SQL auth). Microsoft Entra auth goes through one shared token credential per
 * identity, handed to tedious as `token-credential`; tedious' own `azure-active-directory-default`
 * would build a new DefaultAzureCredential, with its own token cache, for every pooled connection.
 */

export type MssqlAuth =
  | { kind: 'sql'; user: string; password: string }
  /** DefaultAzureCredential: managed identity in Azure, az login or VS Code on a laptop. */
  | { kind: 'entra-default'; clientId?: string }
  /** ManagedIdentityCredential only (a user-assigned identity when clientId is set). */
  | { kind: 'managed-identity'; clientId?: string };

export interface MssqlConnection {
  server: string;
  port: number;
  instanceName?: string;
  database: string;
  auth: MssqlAuth;
  encrypt: boolean | 'strict';
  trustServerCertificate: boolean;
  connectTimeoutMs: number;
  /**
   * tedious stops its request timer at the first packet of the response, so this bounds the wait
   * for a query to start answering (blocked on a lock, sorting); the source's stream watchdog
   * applies the same limit to every silence between rows of a long read.
   */
  requestTimeoutMs: number;
  appName: string;
  /** SET LANGUAGE for the session (ADO `Current Language`); bound values never depend on it. */
  language?: string;
  readOnlyIntent: boolean;
  multiSubnetFailover: boolean;
  /** `Max Pool Size` when the string sets one: it may lower the pool size the source's slots allow, not raise it. */
  maxConnections?: number;
}

export const MSSQL_DEFAULTS = {
  port: 1433,
  connectTimeoutMs: 15_000,
  requestTimeoutMs: 300_000,
  appName: 'soundlake',
  maxConnections: 4,
} as const;

class ConnectionStringError extends SourceError {
  constructor(problem: string) {
    super(`mssql source: SOURCE_URL ${problem}`);
  }
}

const fail = (problem: string): never => {
  throw new ConnectionStringError(problem);
};

function bool(field: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(v)) return true;
  if (['false', 'no', '0'].includes(v)) return false;
  return fail(`${field}: expected true or false`);
}

function encryptValue(field: string, value: string): boolean | 'strict' {
  const v = value.trim().toLowerCase();
  if (v === 'strict') return 'strict';
  if (v === 'mandatory') return true;
  if (v === 'optional') return false;
  return bool(field, value);
}

function seconds(field: string, value: string): number {
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > 86_400) fail(`${field}: expected whole seconds from 1 to 86400`);
  return n * 1000;
}

function positive(field: string, value: string, max: number): number {
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`${field}: expected a whole number from 1 to ${max}`);
  return n;
}

/** ADO's Authentication keyword, spelled any of the ways SqlClient accepts (spaces and case do not matter). */
function adoAuthentication(value: string, user: string | undefined, password: string | undefined): MssqlAuth {
  const mode = value.replaceAll(/[\s_-]/g, '').toLowerCase();
  switch (mode) {
    case 'sqlpassword':
      if (!user || password === undefined) fail('Authentication=SqlPassword needs User ID and Password');
      return { kind: 'sql', user: user!, password: password! };
    case 'activedirectorydefault':
      if (password !== undefined) fail('Authentication=Active Directory Default takes no Password');
      // SqlClient reads User ID as the client id of a user-assigned managed identity here.
      return user ? { kind: 'entra-default', clientId: user } : { kind: 'entra-default' };
    case 'activedirectorymanagedidentity':
    case 'activedirectorymsi':
      if (password !== undefined) fail('Authentication=Active Directory Managed Identity takes no Password');
      return user ? { kind: 'managed-identity', clientId: user } : { kind: 'managed-identity' };
    default:
      return fail(
        `Authentication: ${JSON.stringify(value)} is not supported; use Active Directory Default (managed identity in Azure), ` +
          'Active Directory Managed Identity, or SQL auth (User ID and Password) for local servers',
      );
  }
}

/** Splits `key=value;key2="a;b";key3={x;y}` the way ADO.NET does: quotes and braces protect `;`, doubled quotes escape. */
export function splitAdoConnectionString(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ';' || /\s/.test(text[i]!))) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq === -1) fail(`is not a connection string: an entry has no "=" (after ${entries.size} key=value pairs)`);
    const key = text.slice(i, eq).trim().replaceAll(/\s+/g, ' ').toLowerCase();
    i = eq + 1;
    while (i < n && text[i] === ' ') i++;
    let value = '';
    const open = text[i];
    if (open === '"' || open === "'" || open === '{') {
      const close = open === '{' ? '}' : open;
      i++;
      for (;;) {
        if (i >= n) fail(`${key}: unterminated ${open === '{' ? 'brace' : 'quote'}`);
        if (text[i] === close) {
          if (text[i + 1] === close) {
            value += close;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      while (i < n && text[i] !== ';') {
        if (!/\s/.test(text[i]!)) fail(`${key}: unexpected text after the closing quote`);
        i++;
      }
    } else {
      const end = text.indexOf(';', i);
      value = (end === -1 ? text.slice(i) : text.slice(i, end)).trim();
      i = end === -1 ? n : end;
    }
    if (!key) fail('has an empty key');
    if (entries.has(key)) fail(`${key}: given twice`);
    entries.set(key, value);
  }
  return entries;
}

/** Keys that change nothing for a reader over tedious; accepted so portal strings work as pasted. */
const IGNORED_ADO_KEYS = new Set([
  'persist security info',
  'persistsecurityinfo',
  'multipleactiveresultsets',
  'pooling',
  'min pool size',
  'connection lifetime',
  'load balance timeout',
  'connect retry count',
  'connectretrycount',
  'connect retry interval',
  'connectretryinterval',
  'packet size',
  'workstation id',
  'wsid',
]);

const ADO_ALIASES: Record<string, string> = {
  'data source': 'server',
  address: 'server',
  addr: 'server',
  'network address': 'server',
  'initial catalog': 'database',
  uid: 'user id',
  user: 'user id',
  pwd: 'password',
  'trust server certificate': 'trustservercertificate',
  'connection timeout': 'connect timeout',
  timeout: 'connect timeout',
  'command timeout': 'command timeout',
  app: 'application name',
  language: 'current language',
  'application intent': 'applicationintent',
  'multi subnet failover': 'multisubnetfailover',
};

function parseAdo(text: string): MssqlConnection {
  const raw = splitAdoConnectionString(text);
  const get = new Map<string, string>();
  for (const [key, value] of raw) {
    if (IGNORED_ADO_KEYS.has(key)) continue;
    const canonical = ADO_ALIASES[key] ?? key;
    if (get.has(canonical)) fail(`${key}: given twice (also as another name for ${canonical})`);
    get.set(canonical, value);
  }
  const known = new Set([
    'server',
    'database',
    'user id',
    'password',
    'authentication',
    'encrypt',
    'trustservercertificate',
    'connect timeout',
    'command timeout',
    'application name',
    'current language',
    'applicationintent',
    'multisubnetfailover',
    'max pool size',
  ]);
  for (const key of get.keys()) {
    if (key === 'integrated security' || key === 'trusted_connection') fail(`${key}: Windows authentication is not supported; use Authentication=Active Directory Default`);
    if (key === 'driver' || key === 'provider') fail(`${key}: ODBC and OLE DB connection strings are not supported; use an ADO.NET string or an mssql:// URL`);
    // A password with an unquoted ';' leaves its tail here as a "key": name only what looks like a keyword.
    if (!known.has(key)) fail(`${/^[a-z][a-z ]{0,39}$/.test(key) ? key : 'a key'}: unknown keyword (quote values that contain ";")`);
  }
  const server = get.get('server') ?? fail('Server: missing');
  const address = parseServer(server);
  const user = get.get('user id') || undefined;
  const password = get.get('password');
  const authentication = get.get('authentication');
  let auth: MssqlAuth;
  if (authentication) auth = adoAuthentication(authentication, user, password);
  else if (user && password !== undefined) auth = { kind: 'sql', user, password };
  else auth = fail('Authentication: missing; set Authentication=Active Directory Default (managed identity) or User ID and Password');
  const conn: MssqlConnection = {
    ...address,
    database: get.get('database') || fail('Database (Initial Catalog): missing'),
    auth,
    encrypt: get.has('encrypt') ? encryptValue('Encrypt', get.get('encrypt')!) : true,
    trustServerCertificate: get.has('trustservercertificate') ? bool('TrustServerCertificate', get.get('trustservercertificate')!) : false,
    connectTimeoutMs: get.has('connect timeout') ? seconds('Connect Timeout', get.get('connect timeout')!) : MSSQL_DEFAULTS.connectTimeoutMs,
    requestTimeoutMs: get.has('command timeout') ? seconds('Command Timeout', get.get('command timeout')!) : MSSQL_DEFAULTS.requestTimeoutMs,
    appName: get.get('application name') || MSSQL_DEFAULTS.appName,
    readOnlyIntent: get.has('applicationintent') ? readOnlyIntent(get.get('applicationintent')!) : false,
    multiSubnetFailover: get.has('multisubnetfailover') ? bool('MultiSubnetFailover', get.get('multisubnetfailover')!) : false,
  };
  if (get.get('current language')) conn.language = language(get.get('current language')!);
  if (get.has('max pool size')) conn.maxConnections = positive('Max Pool Size', get.get('max pool size')!, 256);
  return conn;
}

function readOnlyIntent(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'readonly') return true;
  if (v === 'readwrite') return false;
  return fail('ApplicationIntent: expected ReadOnly or ReadWrite');
}

/** Goes into tedious' `SET LANGUAGE` text, so only a language name's characters pass. */
function language(value: string): string {
  const v = value.trim();
  if (!/^[A-Za-z][A-Za-z_ ]{0,63}$/.test(v)) fail('Current Language: not a language name (letters, spaces and underscores)');
  return v;
}

/** `tcp:host,port`, `host\instance`, `host,port`. */
function parseServer(text: string): { server: string; port: number; instanceName?: string } {
  let s = text.trim();
  if (/^np:/i.test(s) || /^lpc:/i.test(s)) fail('Server: named pipes and shared memory are not supported; use tcp');
  s = s.replace(/^tcp:/i, '');
  let port: number = MSSQL_DEFAULTS.port;
  const comma = s.lastIndexOf(',');
  if (comma !== -1) {
    port = positive('Server port', s.slice(comma + 1), 65_535);
    s = s.slice(0, comma).trim();
  }
  let instanceName: string | undefined;
  const slash = s.indexOf('\\');
  if (slash !== -1) {
    instanceName = s.slice(slash + 1).trim();
    s = s.slice(0, slash).trim();
  }
  if (!s) fail('Server: missing host name');
  if (s === '.' || s.toLowerCase() === '(local)') s = 'localhost';
  return { server: s, port, ...(instanceName ? { instanceName } : {}) };
}

const URL_PARAMS = new Set(['encrypt', 'trustServerCertificate', 'authentication', 'clientId', 'connectTimeout', 'requestTimeout', 'appName', 'language', 'applicationIntent', 'maxConnections']);

function parseUrl(text: string): MssqlConnection {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return fail('is not a valid mssql:// URL');
  }
  for (const key of u.searchParams.keys()) if (!URL_PARAMS.has(key)) fail(`${key}: unknown URL parameter (known: ${[...URL_PARAMS].join(', ')})`);
  const param = (k: string): string | undefined => u.searchParams.get(k) ?? undefined;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) fail('needs a database: mssql://host/database');
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const mode = param('authentication') ?? (user ? 'sql' : 'default');
  let auth: MssqlAuth;
  const clientId = param('clientId');
  if (mode === 'sql') {
    if (!user || password === undefined) fail('authentication=sql needs user:password@ in the URL');
    auth = { kind: 'sql', user: user!, password: password! };
  } else if (mode === 'default' || mode === 'managed-identity') {
    if (user) fail(`authentication=${mode} takes no user or password in the URL (use clientId= for a user-assigned identity)`);
    auth = mode === 'default' ? { kind: 'entra-default', ...(clientId ? { clientId } : {}) } : { kind: 'managed-identity', ...(clientId ? { clientId } : {}) };
  } else {
    auth = fail(`authentication: ${JSON.stringify(mode)} is not one of sql, default, managed-identity`);
  }
  if (clientId && auth.kind === 'sql') fail('clientId applies to Microsoft Entra auth only');
  const conn: MssqlConnection = {
    server: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : MSSQL_DEFAULTS.port,
    database,
    auth,
    encrypt: param('encrypt') === undefined ? true : encryptValue('encrypt', param('encrypt')!),
    trustServerCertificate: param('trustServerCertificate') === undefined ? false : bool('trustServerCertificate', param('trustServerCertificate')!),
    connectTimeoutMs: param('connectTimeout') === undefined ? MSSQL_DEFAULTS.connectTimeoutMs : seconds('connectTimeout', param('connectTimeout')!),
    requestTimeoutMs: param('requestTimeout') === undefined ? MSSQL_DEFAULTS.requestTimeoutMs : seconds('requestTimeout', param('requestTimeout')!),
    appName: param('appName') || MSSQL_DEFAULTS.appName,
    readOnlyIntent: param('applicationIntent') === undefined ? false : readOnlyIntent(param('applicationIntent')!),
    multiSubnetFailover: false,
  };
  if (!conn.server) fail('needs a host name');
  if (param('language')) conn.language = language(param('language')!);
  if (param('maxConnections')) conn.maxConnections = positive('maxConnections', param('maxConnections')!, 256);
  return conn;
}

/** Either spelling of SOURCE_URL into one settings object; errors name the field, never a value that could be a password. */
export function parseMssqlConnectionString(text: string): MssqlConnection {
  const t = text.trim();
  if (/^(mssql|sqlserver):\/\//i.test(t)) return parseUrl(t);
  if (/^[a-z]+:\/\//i.test(t)) fail(`must be an mssql:// URL or an ADO.NET connection string, not ${t.slice(0, t.indexOf(':'))}://`);
  return parseAdo(t);
}

const credentials = new Map<string, TokenCredential>();

/**
 * One credential per identity for the whole process: every pooled connection, and every pool,
 * asks the same object, so tokens are cached once and managed identity is not asked per login.
 */
export function mssqlCredential(auth: Exclude<MssqlAuth, { kind: 'sql' }>): TokenCredential {
  if (auth.kind === 'entra-default' && !auth.clientId) return azureCredential();
  const key = `${auth.kind}:${auth.clientId ?? ''}`;
  let credential = credentials.get(key);
  if (!credential) {
    credential =
      auth.kind === 'entra-default'
        ? new DefaultAzureCredential({ managedIdentityClientId: auth.clientId! })
        : auth.clientId
          ? new ManagedIdentityCredential({ clientId: auth.clientId })
          : new ManagedIdentityCredential();
    credentials.set(key, credential);
  }
  return credential;
}

export interface MssqlPoolOptions {
  /** Pool size, at most: a smaller Max Pool Size in the connection string wins, a larger one does not. */
  maxConnections?: number;
  /** Overrides the shared credential (tests). */
  credential?: TokenCredential;
}

/** The pool configuration for a parsed connection: the same shape whichever spelling it came from. */
export function mssqlPoolConfig(conn: MssqlConnection, options: MssqlPoolOptions = {}): mssql.config {
  const config: mssql.config = {
    server: conn.server,
    database: conn.database,
    connectionTimeout: conn.connectTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    // The caller's size is a ceiling (the source's connection slots decide it): the string's Max Pool Size may lower it, never raise it.
    pool: { max: Math.min(conn.maxConnections ?? Infinity, options.maxConnections ?? conn.maxConnections ?? MSSQL_DEFAULTS.maxConnections), min: 0, idleTimeoutMillis: 30_000 },
    options: {
      encrypt: conn.encrypt as boolean,
      trustServerCertificate: conn.trustServerCertificate,
      useUTC: true,
      appName: conn.appName,
      readOnlyIntent: conn.readOnlyIntent,
      multiSubnetFailover: conn.multiSubnetFailover,
      ...(conn.language ? { language: conn.language } : {}),
      ...(conn.instanceName ? { instanceName: conn.instanceName } : {}),
    },
  };
  if (!conn.instanceName) config.port = conn.port;
  if (conn.auth.kind === 'sql') {
    config.user = conn.auth.user;
    config.password = conn.auth.password;
  } else {
    config.authentication = { type: 'token-credential', options: { credential: options.credential ?? mssqlCredential(conn.auth) } };
  }
  return config;
}

/** SOURCE_URL to a pool configuration in one step. */
export function mssqlConfigFromUrl(url: string, options: MssqlPoolOptions = {}): mssql.config {
  return mssqlPoolConfig(parseMssqlConnectionString(url), options);
}
