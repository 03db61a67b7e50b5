import type { AccessToken, TokenCredential } from '@azure/core-auth';
import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import { azureCredential } from '../../shared/azure/credential.js';
import { mssqlConfigFromUrl, mssqlPoolConfig, parseMssqlConnectionString } from '../../shared/source/mssql/mssqlConnection.js';
import { MssqlSource } from '../../shared/source/mssql/mssqlSource.js';

/** SOURCE_URL in both spellings, down to the configuration tedious receives. No SQL Server needed. */

const portalAdo =
  'Server=tcp:soundlake-sql.database.windows.net,1433;Initial Catalog=music;Persist Security Info=False;' +
  'MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;Authentication="Active Directory Default";';

describe('SQL Server connection strings', () => {
  it('reads an ADO string with Authentication=Active Directory Default as Entra auth, not as SQL auth without a user', () => {
    const conn = parseMssqlConnectionString(portalAdo);
    expect(conn).toMatchObject({
      server: 'soundlake-sql.database.windows.net',
      port: 1433,
      database: 'music',
      auth: { kind: 'entra-default' },
      encrypt: true,
      trustServerCertificate: false,
      connectTimeoutMs: 30_000,
    });
    const config = mssqlConfigFromUrl(portalAdo);
    expect(config.authentication?.type).toBe('token-credential');
    expect(config.user).toBeUndefined();
    // mssql's own parser maps this string to SQL auth ('default') with no user at all.
    expect(mssql.ConnectionPool.parseConnectionString(portalAdo)).not.toHaveProperty('authentication_type', 'token-credential');
  });

  it('gives the same configuration for the URL and the ADO spelling, pool size and timeouts included', () => {
    const url = mssqlConfigFromUrl('mssql://soundlake-sql.database.windows.net/music?connectTimeout=30&requestTimeout=120', { maxConnections: 13 });
    const ado = mssqlConfigFromUrl(
      'Server=soundlake-sql.database.windows.net;Database=music;Authentication=Active Directory Default;Connect Timeout=30;Command Timeout=120',
      { maxConnections: 13 },
    );
    expect(ado).toEqual(url);
    expect(ado).toMatchObject({ pool: { max: 13, min: 0 }, connectionTimeout: 30_000, requestTimeout: 120_000, port: 1433 });
    expect(ado.options).toMatchObject({ encrypt: true, trustServerCertificate: false, appName: 'soundlake' });
  });

  it('applies a real request timeout by default, on both spellings', () => {
    expect(mssqlConfigFromUrl('mssql://h/db').requestTimeout).toBe(300_000);
    expect(mssqlConfigFromUrl('Server=h;Database=db;Authentication=Active Directory Default').requestTimeout).toBe(300_000);
    expect(() => parseMssqlConnectionString('Server=h;Database=db;Authentication=Active Directory Default;Command Timeout=0')).toThrow(
      /Command Timeout: expected whole seconds from 1 to 86400/,
    );
  });

  it('shares one credential between every pool and connection of an identity', () => {
    const a = mssqlConfigFromUrl(portalAdo);
    const b = mssqlConfigFromUrl('mssql://other.database.windows.net/db2');
    const credentialOf = (c: mssql.config): unknown => (c.authentication as { options: { credential: unknown } }).options.credential;
    expect(credentialOf(a)).toBe(azureCredential());
    expect(credentialOf(b)).toBe(credentialOf(a));
    const uami = mssqlConfigFromUrl('Server=h;Database=db;Authentication=Active Directory Managed Identity;User Id=11111111-2222-3333-4444-555555555555');
    const again = mssqlConfigFromUrl('mssql://h2/db?authentication=managed-identity&clientId=11111111-2222-3333-4444-555555555555');
    expect(credentialOf(uami)).toBe(credentialOf(again));
    expect(credentialOf(uami)).not.toBe(credentialOf(a));
    expect(parseMssqlConnectionString('Server=h;Database=db;Authentication=ActiveDirectoryDefault;User ID=abc').auth).toEqual({ kind: 'entra-default', clientId: 'abc' });
  });

  it('hands tedious a token credential in the shape it accepts', async () => {
    const credential: TokenCredential = { getToken: async (): Promise<AccessToken | null> => null };
    const config = mssqlPoolConfig(parseMssqlConnectionString('mssql://127.0.0.1:1/db?connectTimeout=2'), { credential });
    expect(config.authentication).toEqual({ type: 'token-credential', options: { credential } });
    // tedious validates the authentication block when the pool builds a connection (a wrong shape
    // is a TypeError); a refused port fails only after that, with a socket error.
    const pool = new mssql.ConnectionPool(config);
    const err = await pool.connect().then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err).not.toBeInstanceOf(TypeError);
    expect(err?.code).toBe('ESOCKET');
    await pool.close().catch(() => undefined);
  });

  it('reads SQL auth from both spellings, with quoting and escapes, and never repeats the password in an error', () => {
    const url = parseMssqlConnectionString('mssql://loader:s%3Dcr%3Bet@sql.example.net:1444/music?encrypt=false&trustServerCertificate=true');
    expect(url).toMatchObject({ server: 'sql.example.net', port: 1444, database: 'music', auth: { kind: 'sql', user: 'loader', password: 's=cr;et' }, encrypt: false, trustServerCertificate: true });
    const ado = parseMssqlConnectionString(`Data Source=sql.example.net,1444;Initial Catalog=music;User ID=loader;Password="s=cr;et";Encrypt=no;TrustServerCertificate=yes`);
    expect(ado.auth).toEqual(url.auth);
    expect(parseMssqlConnectionString(`Server=h;Database=db;UID=u;PWD={a}}b;c}`).auth).toEqual({ kind: 'sql', user: 'u', password: 'a}b;c' });
    expect(parseMssqlConnectionString(`Server=h;Database=db;UID=u;PWD='it''s'`).auth).toEqual({ kind: 'sql', user: 'u', password: "it's" });
    const secret = 'Hunter2-VerySecret';
    for (const bad of [
      `Server=h;Database=db;User ID=u;Password=${secret};Authentication=Active Directory Integrated`,
      `Server=h;Database=db;User ID=u;Password=${secret};Colour=blue`,
      `Server=h;Database=db;User ID=u;Password="${secret}`,
      `Server=h;Database=db;User ID=u;Password=${secret};Encrypt=${secret}`,
      `Server=h;Database=db;User ID=u;Password=ab;${secret}=1`,
    ]) {
      let message = '';
      try {
        parseMssqlConnectionString(bad);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, bad).toMatch(/^mssql source: SOURCE_URL /);
      expect(message).not.toContain('Hunter2');
    }
  });

  it('refuses what it cannot honour, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['Server=h;Database=db;Authentication=Active Directory Integrated', /Authentication: "Active Directory Integrated" is not supported/],
      ['Server=h;Database=db;Authentication=Active Directory Password;User ID=a;Password=b', /Authentication: "Active Directory Password" is not supported/],
      ['Server=h;Database=db', /Authentication: missing/],
      ['Server=h;Database=db;Integrated Security=SSPI', /integrated security: Windows authentication is not supported/],
      ['Driver={ODBC Driver 18 for SQL Server};Server=h;Database=db', /driver: ODBC and OLE DB connection strings are not supported/],
      ['Server=np:\\\\h\\pipe\\sql\\query;Database=db;Authentication=Active Directory Default', /named pipes/],
      ['Server=h;Authentication=Active Directory Default', /Database \(Initial Catalog\): missing/],
      ['Server=h;Database=db;Data Source=g;Authentication=Active Directory Default', /given twice/],
      ['mssql://h/db?encrpyt=false', /encrpyt: unknown URL parameter/],
      ['mssql://h', /needs a database/],
      ['mssql://u:p@h/db?authentication=default', /takes no user or password/],
      ['postgres://h/db', /must be an mssql:\/\/ URL or an ADO.NET connection string/],
      ['Server=h;Database=db;Authentication=Active Directory Default;Current Language=british--x', /Current Language: not a language name/],
    ];
    for (const [text, problem] of cases) expect(() => parseMssqlConnectionString(text), text).toThrow(problem);
  });

  it('reads instances, ports, language, intent and pool size from an ADO string', () => {
    const conn = parseMssqlConnectionString(
      'Server=tcp:db1\\SQLEXPRESS,1500;Database=music;User ID=u;Password=p;Current Language=British;ApplicationIntent=ReadOnly;Max Pool Size=7;Application Name=loader;MultiSubnetFailover=True',
    );
    expect(conn).toMatchObject({ server: 'db1', instanceName: 'SQLEXPRESS', port: 1500, language: 'British', readOnlyIntent: true, maxConnections: 7, appName: 'loader', multiSubnetFailover: true });
    const config = mssqlPoolConfig(conn, { maxConnections: 13 });
    expect(config.pool?.max).toBe(7);
    expect(config.port).toBeUndefined();
    expect(config.options).toMatchObject({ instanceName: 'SQLEXPRESS', language: 'British', readOnlyIntent: true });
    expect(parseMssqlConnectionString('Server=.;Database=db;User ID=u;Password=p').server).toBe('localhost');
    expect(parseMssqlConnectionString('Server=tcp:h;Database=db;User ID=u;Password=p;Encrypt=Strict').encrypt).toBe('strict');
  });

  it('fails at construction on a bad SOURCE_URL, before any connection', () => {
    expect(() => new MssqlSource({ url: 'Server=h;Database=db;Authentication=Active Directory Interactive' })).toThrow(/Authentication: "Active Directory Interactive"/);
  });
});
