/**
 * Masks credentials inside free text (error messages carry connection strings more often than
 * one would like), for logs and alerts alike. It errs on the side of masking too much: a
 * diagnostic cut short is a nuisance, a password in a Teams channel is an incident.
 *
 * - `key=value` pairs of connection strings (ADO.NET, ODBC, Azure Storage, ACS) and of query
 *   strings and environment dumps: `Password=`, `Pwd=`, `AccountKey=`, `SharedAccessKey=`,
 *   `SharedAccessSignature=`, `accesskey=`, `client_secret=`, `AZURE_CLIENT_SECRET=`, `token=` ...
 *   A value is quoted (`"..."` with `""` inside, `'...'`, ODBC `{...}` with `}}` inside) or runs
 *   to the next `;` or line end: ADO.NET allows spaces in an unquoted value.
 * - The same keys in JSON (`"password":"..."`, also escaped inside another JSON string) and in
 *   object and YAML notation (`password: '...'`, `{ password: "..." }`, `password: plain`).
 * - The password of a URL (`scheme://user:password@host`), up to the last `@` of the URL, since
 *   passwords hold `@`, `/` and `:` more often than URLs are written correctly; an empty user too.
 * - Query parameters of those names, and `sig=` (SAS) and `code=` (Functions keys), up to the
 *   next `&`; Slack webhook paths, `Bearer`/`Basic` credentials, JSON Web Tokens and Databricks
 *   personal access tokens.
 */
const MASK = '[redacted]';

// Names whose value is a secret wherever they appear. Matched case-insensitively as a whole name
// or as the end of one (`AZURE_CLIENT_SECRET`, `x-functions-key`).
const SECRET_NAMES = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'client[_-]?secret',
  'api[_-]?key',
  'access[_-]?key',
  'account[_-]?key',
  'shared[_-]?access[_-]?key',
  'shared[_-]?access[_-]?signature',
  'functions[_-]key',
  'access[_-]?token',
  'refresh[_-]?token',
  'id[_-]?token',
  'token',
  'connection[_-]?string',
].join('|');
// Names that are unmistakably secret even in prose (`password: hunter2`); `token:` is not ("the token: 403 ...").
const STRICT_NAMES = ['password', 'passwd', 'pwd', 'secret', 'client[_-]?secret', 'api[_-]?key', 'access[_-]?key', 'account[_-]?key', 'shared[_-]?access[_-]?key', 'functions[_-]key'].join('|');

/** A name that stands alone or ends a longer one (`_` and `-` separate words): no letter or digit right before it. */
const NAME = `(?<![A-Za-z0-9])(?:${SECRET_NAMES})(?![A-Za-z0-9])`;
/** A JSON member name: the secret name may end a longer one (`"AZURE_CLIENT_SECRET"`). */
const JSON_NAME = `[A-Za-z0-9_-]*?(?:${SECRET_NAMES})`;
/** Only the names of the strict list, standing alone (`DATABRICKS_TOKEN: required` stays readable). */
const STRICT = `\\b(?:${STRICT_NAMES})\\b`;
const QUOTED_VALUE = `"(?:[^"]|"")*"|'(?:[^']|'')*'|\\{(?:[^}]|\\}\\})*\\}`;

const PATTERNS: [RegExp, string][] = [
  // Credentials that look the same wherever they are.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${MASK}`],
  [/\bdapi[0-9a-f]{32}(?:-\d+)?\b/g, MASK],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, MASK],
  [/(https?:\/\/hooks\.slack\.com\/)[^\s"'<>]+/gi, `$1${MASK}`],
  // URL passwords: the password runs to the last '@' before the URL ends (blank or quote). The
  // bound keeps a long line without '@' linear; no password is that long.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#'"]{0,256}):[^\s'"]{0,1024}@/gi, `$1:${MASK}@`],
  // JSON, plain ("password":"x") and escaped inside another JSON string (\"password\":\"x\").
  [new RegExp(`("${JSON_NAME}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${MASK}"`],
  [new RegExp(`(\\\\"${JSON_NAME}\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`, 'gi'), `$1\\"${MASK}\\"`],
  [new RegExp(`("${JSON_NAME}"\\s*:\\s*)(?!["\\s])[^,}\\]\\s]+`, 'gi'), `$1"${MASK}"`],
  // Query parameters end at '&'; Functions keys (code=) and SAS signatures (sig=) only count there.
  [new RegExp(`([?&](?:${SECRET_NAMES}|code|sig)=)[^&\\s#'"]+`, 'gi'), `$1${MASK}`],
  // Other key=value (connection strings, environment): quoted, braced, or to the next ';'.
  [new RegExp(`(${NAME}[ \\t]*=[ \\t]*)(?![ \\t]|\\[redacted\\])(?:${QUOTED_VALUE}|[^;\\r\\n]*)`, 'gi'), `$1${MASK}`],
  // Object and YAML notation: password: '...', password: "...", password: plain words.
  [new RegExp(`(${NAME}\\s*:\\s*)(?:'(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*")`, 'gi'), `$1'${MASK}'`],
  [new RegExp(`(${STRICT}\\s*:[ \\t]*)(?![ \\t'"]|\\[redacted\\])[^,;}\\]\\r\\n]+`, 'gi'), `$1${MASK}`],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}
