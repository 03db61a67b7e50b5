import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../shared/logging/redact.js';
import { notifierFromEnv } from '../support/alertFixture.js';
import { captureLogger, failureNotice, HttpStandIn } from '../support/alertStandIns.js';

/**
 * What logs and alerts must never carry. Each case is a text as an error message might hold it,
 * the secret inside it, and the exact masked text (or null where only the absence matters).
 */
// Secret-shaped values are assembled at run time so no credential-looking literal sits in the repository.
const JWT = ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiJzb3VuZGxha2UifQ', 'c2lnbmF0dXJlLXZhbHVl'].join('.');
const PAT = `dapi${'a1b2c3d4'.repeat(4)}`;

const cases: [name: string, text: string, secrets: string[], masked: string | null][] = [
  // URLs
  ['URL password with @', 'connect postgres://u:p@ss@db.example.net:5432/app failed', ['p@ss', 'ss@db'], 'connect postgres://u:[redacted]@db.example.net:5432/app failed'],
  ['URL password with /', 'connect postgres://u:pa/ss@db:5432/app failed', ['pa/ss', '/ss@'], 'connect postgres://u:[redacted]@db:5432/app failed'],
  ['URL password, empty user', 'connect postgres://:secret@db/app failed', [':secret', 'secret@'], 'connect postgres://:[redacted]@db/app failed'],
  ['URL password with : and #', 'mssql://sa:a:b#c@sql.example.net/db', ['a:b#c', 'b#c'], 'mssql://sa:[redacted]@sql.example.net/db'],
  ['URL password, several URLs', 'from postgres://a:one@h1/x to postgres://b:two@h2/y', ['one', 'two'], 'from postgres://a:[redacted]@h1/x to postgres://b:[redacted]@h2/y'],
  ['URL password in quotes', `url "postgresql://svc:Tr0ub4dor&3@pg:5432/db" refused`, ['Tr0ub4dor', '&3'], 'url "postgresql://svc:[redacted]@pg:5432/db" refused'],
  ['URL with a user only stays', 'postgres://postgres@127.0.0.1:5433/postgres', [], 'postgres://postgres@127.0.0.1:5433/postgres'],
  ['URL with a port only stays', 'http://127.0.0.1:10000/devstoreaccount1/bronze', [], 'http://127.0.0.1:10000/devstoreaccount1/bronze'],
  // JSON
  ['JSON password', '{"user":"ingest","password":"hunter2","db":"app"}', ['hunter2'], '{"user":"ingest","password":"[redacted]","db":"app"}'],
  ['JSON password with spaces and escapes', '{"Password" : "a \\"quoted\\" pass, word"}', ['quoted', 'pass, word'], '{"Password" : "[redacted]"}'],
  ['JSON client secret', '{"clientSecret":"abc~def","tenant":"t"}', ['abc~def'], '{"clientSecret":"[redacted]","tenant":"t"}'],
  ['JSON env-style name', '{"AZURE_CLIENT_SECRET":"s3cr3t-v@lue"}', ['s3cr3t'], '{"AZURE_CLIENT_SECRET":"[redacted]"}'],
  ['JSON number password', '{"pwd": 1234567, "port": 5432}', ['1234567'], '{"pwd": "[redacted]", "port": 5432}'],
  ['JSON inside a JSON string', '{"msg":"body {\\"access_token\\":\\"tok-123\\",\\"x\\":1}"}', ['tok-123'], '{"msg":"body {\\"access_token\\":\\"[redacted]\\",\\"x\\":1}"}'],
  ['JSON token', 'response {"token":"dbx-9f8e","expires_in":3600}', ['dbx-9f8e'], 'response {"token":"[redacted]","expires_in":3600}'],
  // Object and YAML notation
  ["password: '...'", "config { user: 'ingest', password: 'hunter2 with space' }", ['hunter2', 'with space'], "config { user: 'ingest', password: '[redacted]' }"],
  ['password: "..."', 'config { password: "x;y" }', ['x;y'], "config { password: '[redacted]' }"],
  ['YAML password', 'password: my pass phrase\nuser: ingest', ['my pass', 'phrase'], 'password: [redacted]\nuser: ingest'],
  ['secret: plain', 'secret: abc123, next', ['abc123'], 'secret: [redacted], next'],
  ['settings names stay readable', 'DATABRICKS_TOKEN: not set; DATABRICKS_JOB_ID: required', [], 'DATABRICKS_TOKEN: not set; DATABRICKS_JOB_ID: required'],
  ['"the token:" in prose stays', 'Databricks rejected the token: 403 PERMISSION_DENIED', [], 'Databricks rejected the token: 403 PERMISSION_DENIED'],
  // Connection strings (ADO.NET, ODBC, Azure Storage, ACS)
  ['ADO quoted with spaces', 'Server=tcp:sql,1433;User ID=u;Password="x with space";Encrypt=true', ['x with space', 'with space'], 'Server=tcp:sql,1433;User ID=u;Password=[redacted];Encrypt=true'],
  ['ADO single-quoted with doubled quote', "Password='it''s a secret';Database=db", ["it''s", 's a secret'], 'Password=[redacted];Database=db'],
  ['ADO double-quoted with doubled quote', 'Password="say ""hi"" now";Database=db', ['hi', 'now'], 'Password=[redacted];Database=db'],
  ['ADO unquoted with spaces', 'Data Source=sql;Password=two words;Database=db', ['two words', 'words'], 'Data Source=sql;Password=[redacted];Database=db'],
  ['ADO spaces around =', 'User Id = sa ; Password = p w ; Database = db', ['p w'], 'User Id = sa ; Password = [redacted]; Database = db'],
  ['ODBC braces', 'Driver={ODBC Driver 18};PWD={a;b}}c};UID=sa', ['a;b', 'c}'], 'Driver={ODBC Driver 18};PWD=[redacted];UID=sa'],
  ['Pwd= lower case', 'uid=sa;pwd=Sup3r!;server=x', ['Sup3r!'], 'uid=sa;pwd=[redacted];server=x'],
  ['AccountKey', 'DefaultEndpointsProtocol=https;AccountName=lake;AccountKey=c2VjcmV0a2V5PT0=;EndpointSuffix=core.windows.net', ['c2VjcmV0a2V5PT0='], 'DefaultEndpointsProtocol=https;AccountName=lake;AccountKey=[redacted];EndpointSuffix=core.windows.net'],
  ['SharedAccessSignature', 'BlobEndpoint=https://lake.blob.core.windows.net/;SharedAccessSignature=sv=2024-08-04&ss=b&sig=AbC%2BdEf%3D', ['AbC%2BdEf', 'sv=2024-08-04&ss=b'], 'BlobEndpoint=https://lake.blob.core.windows.net/;SharedAccessSignature=[redacted]'],
  ['SharedAccessKey', 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=K3y/Val+ue=', ['K3y/Val+ue='], 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=[redacted]'],
  ['ACS accesskey', 'endpoint=https://x.communication.azure.com/;accesskey=QUNTa2V5', ['QUNTa2V5'], 'endpoint=https://x.communication.azure.com/;accesskey=[redacted]'],
  // Queries, environment, headers, tokens
  ['SAS sig in a URL', 'GET https://lake.blob.core.windows.net/bronze?sv=2024-08-04&se=2026-01-01&sig=AbCdEf%3D failed', ['AbCdEf'], 'GET https://lake.blob.core.windows.net/bronze?sv=2024-08-04&se=2026-01-01&sig=[redacted] failed'],
  ['Functions key in a URL', 'POST https://app.azurewebsites.net/api/backfill?code=fUnCk3y== 401', ['fUnCk3y'], 'POST https://app.azurewebsites.net/api/backfill?code=[redacted] 401'],
  ['client_secret in a query', 'POST /token?grant_type=client_credentials&client_secret=abc.DEF~123&scope=x', ['abc.DEF~123'], 'POST /token?grant_type=client_credentials&client_secret=[redacted]&scope=x'],
  ['client_secret in a form body', 'body grant_type=client_credentials&client_secret=abc.DEF~123', ['abc.DEF~123'], 'body grant_type=client_credentials&client_secret=[redacted]'],
  ['environment dump', 'AZURE_CLIENT_SECRET=s3cr3t value\nAZURE_TENANT_ID=t', ['s3cr3t'], 'AZURE_CLIENT_SECRET=[redacted]\nAZURE_TENANT_ID=t'],
  ['api_key=', 'webhook?api_key=k-123&x=1', ['k-123'], 'webhook?api_key=[redacted]&x=1'],
  ['x-functions-key header', 'x-functions-key: abcdEFGH1234==', ['abcdEFGH1234'], 'x-functions-key: [redacted]'],
  ['Bearer', 'Authorization: Bearer eyJ0eXAi.abc.def', ['eyJ0eXAi'], 'Authorization: Bearer [redacted]'],
  ['Basic', 'Authorization: Basic dXNlcjpwYXNz', ['dXNlcjpwYXNz'], 'Authorization: Basic [redacted]'],
  ['bare JWT', `token was ${JWT} (expired)`, [JWT, JWT.split('.')[1]!], 'token was [redacted] (expired)'],
  ['Databricks PAT', `using ${PAT}-2 for the call`, [PAT], 'using [redacted] for the call'],
  ['Slack webhook', 'POST https://hooks.slack.com/services/T0/B0/s3cr3tT0k3n failed', ['s3cr3tT0k3n', 'T0/B0'], 'POST https://hooks.slack.com/[redacted] failed'],
];

describe('redactSecrets', () => {
  for (const [name, text, secrets, masked] of cases) {
    it(name, () => {
      const out = redactSecrets(text);
      for (const secret of secrets) expect(out).not.toContain(secret);
      if (masked !== null) expect(out).toBe(masked);
      // Masking twice changes nothing.
      expect(redactSecrets(out)).toBe(out);
    });
  }
});

describe('alerts and their logs', () => {
  it('carry none of these secrets, through a real webhook and the alert log', async () => {
    const hook = await HttpStandIn.start(() => ({ status: 200, body: 'ok' }));
    try {
      const { logger, text } = captureLogger();
      const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url('/hooks/soundlake'), ALERT_WEBHOOK_KIND: 'slack' }, { logger });
      const detail = cases.map(([, t]) => t).join('\n');
      const report = await notifier.report(failureNotice({ title: `ingestion failed: ${cases[0]![1]}`, detail, lookAt: cases[2]![1], key: `redact:${Math.random()}` }));
      expect(report.sent).toBe(true);
      const body = hook.requests.map((r) => r.body).join('\n');
      const logs = text();
      expect(body).toContain('[redacted]');
      for (const [name, , secrets] of cases) {
        for (const secret of secrets) {
          expect(body, `${name}: webhook body`).not.toContain(secret);
          // The log line is JSON: a secret holding quotes or backslashes would appear escaped.
          expect(logs, `${name}: log`).not.toContain(JSON.stringify(secret).slice(1, -1));
        }
      }
    } finally {
      await hook.close();
    }
  });
});
