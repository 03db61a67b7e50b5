/**
 * Structural checks of infra/bicep and .github/workflows, each a pure function of a `Repo` (path
 * -> text) that returns the problems it finds. The tests run them on the real files (no problem
 * allowed) and on altered copies (the problem must be found), so every check is shown to bite.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parsePipelineConfig } from '../../shared/config/pipelineConfig.js';
import type { BicepFile, Decl, Scope, Value } from './bicep.js';
import { at, body, decl, declsOf, evaluate, parseBicep, tokenize, Unsupported } from './bicep.js';

export const REPO_ROOT = normalize(join(import.meta.dirname, '..', '..'));
export const BICEP_DIR = 'infra/bicep';
export const MAIN = `${BICEP_DIR}/main.bicep`;
export const FUNCTION_APP = `${BICEP_DIR}/modules/function-app.bicep`;
export const EVENT_GRID = `${BICEP_DIR}/modules/event-grid.bicep`;
export const RBAC = `${BICEP_DIR}/modules/rbac.bicep`;
export const ROLES = `${BICEP_DIR}/lib/roles.bicep`;
export const SETTINGS = 'shared/config/settings.ts';
export const ENVIRONMENTS = ['dev', 'prod'] as const;

export type Repo = ReadonlyMap<string, string>;

function walk(root: string, dir: string, keep: (path: string) => boolean, out: Map<string, string>): void {
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry}` : entry;
    if (statSync(join(root, path)).isDirectory()) walk(root, path, keep, out);
    else if (keep(path)) out.set(path, readFileSync(join(root, path), 'utf8'));
  }
}

/** The files the checks read: templates, workflows, the code's settings and bindings, the bundle. */
export function loadRepo(root = REPO_ROOT): Repo {
  const files = new Map<string, string>();
  walk(root, BICEP_DIR, (p) => p.endsWith('.bicep') || p.endsWith('.bicepparam'), files);
  walk(root, '.github/workflows', (p) => p.endsWith('.yml') || p.endsWith('.yaml'), files);
  walk(root, '.github/scripts', (p) => p.endsWith('.sh'), files);
  walk(root, 'databricks/resources', (p) => p.endsWith('.yml'), files);
  walk(root, 'functions', (p) => p.endsWith('.ts'), files);
  walk(root, 'shared', (p) => p.endsWith('.ts'), files);
  for (const p of ['databricks/databricks.yml', 'host.json', 'package.json', 'soundlake.yaml']) {
    try {
      files.set(p, readFileSync(join(root, p), 'utf8'));
    } catch {
      // absent: the check that needs it reports it
    }
  }
  return files;
}

/** A copy of the repo with one file changed (or removed, when `change` returns undefined). */
export function altered(repo: Repo, path: string, change: (text: string) => string | undefined): Repo {
  const copy = new Map(repo);
  const before = repo.get(path);
  if (before === undefined) throw new Error(`no file ${path}`);
  const after = change(before);
  if (after === before) throw new Error(`the change to ${path} changed nothing`);
  if (after === undefined) copy.delete(path);
  else copy.set(path, after);
  return copy;
}

/** For `altered`: replace exactly one occurrence (so an alteration that no longer applies fails loudly). */
export const once = (from: string | RegExp, to: string) => (text: string): string => {
  const count = typeof from === 'string' ? text.split(from).length - 1 : (text.match(new RegExp(from.source, `${from.flags.replace('g', '')}g`)) ?? []).length;
  if (count !== 1) throw new Error(`expected one occurrence of ${String(from)}, found ${count}`);
  return text.replace(from, to);
};

export function bicep(repo: Repo, path: string): BicepFile {
  const text = repo.get(path);
  if (text === undefined) throw new Error(`missing file ${path}`);
  return parseBicep(path, text);
}

const bicepPaths = (repo: Repo): string[] => [...repo.keys()].filter((p) => p.startsWith(`${BICEP_DIR}/`) && p.endsWith('.bicep'));
const resolvePath = (from: string, rel: string): string => normalize(join(dirname(from), rel)).replaceAll('\\', '/');

/** Every `module` and `import` path resolves to a template in the repo. */
export function checkReferences(repo: Repo): string[] {
  const problems: string[] = [];
  for (const path of bicepPaths(repo)) {
    const file = bicep(repo, path);
    for (const d of [...declsOf(file, 'module'), ...declsOf(file, 'import')]) {
      if (d.type?.startsWith('br:') || d.type?.startsWith('br/') || d.type?.startsWith('ts:')) {
        problems.push(`${path}:${d.line}: ${d.kind} '${d.name}' comes from a registry (${d.type}); templates here are local`);
        continue;
      }
      const target = resolvePath(path, d.type ?? '');
      if (!repo.has(target)) problems.push(`${path}:${d.line}: ${d.kind} '${d.name}' refers to missing ${target}`);
    }
  }
  return problems;
}

const requiredParams = (file: BicepFile): Decl[] => declsOf(file, 'param').filter((p) => !p.hasDefault && !p.type?.endsWith('?'));

/** Each module call passes every parameter the module requires and none it does not declare. */
export function checkModuleParams(repo: Repo): string[] {
  const problems: string[] = [];
  for (const path of bicepPaths(repo)) {
    const file = bicep(repo, path);
    for (const m of declsOf(file, 'module')) {
      const target = resolvePath(path, m.type ?? '');
      if (!repo.has(target)) continue; // reported by checkReferences
      const module = bicep(repo, target);
      const passed = body(at(m.value, 'params'));
      for (const p of requiredParams(module)) {
        if (!passed.has(p.name)) problems.push(`${path}:${m.line}: module '${m.name}' does not pass required parameter '${p.name}' of ${target}`);
      }
      const declared = new Set(declsOf(module, 'param').map((p) => p.name));
      for (const name of passed.keys()) {
        if (!declared.has(name)) problems.push(`${path}:${m.line}: module '${m.name}' passes '${name}', which ${target} does not declare`);
      }
    }
  }
  return problems;
}

/** Every parameter a template declares is used in it (an unused one is a silent no-op). */
export function checkParamsUsed(repo: Repo): string[] {
  const problems: string[] = [];
  for (const path of bicepPaths(repo)) {
    const file = bicep(repo, path);
    const toks = tokenize(file.text);
    const used = new Set<string>();
    toks.forEach((t, i) => {
      // An identifier that is neither an object key (first on its line, then ':') nor the declared name.
      const prev = toks[i - 1];
      const isKey = (prev === undefined || prev.t === 'nl' || (prev.t === 'p' && (prev.v === '{' || prev.v === ','))) && toks[i + 1]?.t === 'p' && (toks[i + 1] as { v: string }).v === ':';
      const isDeclared = prev?.t === 'id' && prev.v === 'param';
      if (t.t === 'id' && !isKey && !isDeclared) used.add(t.v);
      if (t.t === 'str') for (const part of t.parts) if (typeof part !== 'string') for (const id of part.expr.match(/[A-Za-z_]\w*/g) ?? []) used.add(id);
    });
    for (const p of declsOf(file, 'param')) if (!used.has(p.name)) problems.push(`${path}:${p.line}: parameter '${p.name}' is never used`);
  }
  return problems;
}

/** Each environment's .bicepparam uses main.bicep, sets every required parameter and no unknown one. */
export function checkParamFiles(repo: Repo): string[] {
  const problems: string[] = [];
  const main = bicep(repo, MAIN);
  const declared = new Set(declsOf(main, 'param').map((p) => p.name));
  for (const env of ENVIRONMENTS) {
    const path = `${BICEP_DIR}/main.${env}.bicepparam`;
    const text = repo.get(path);
    if (text === undefined) {
      problems.push(`missing ${path}`);
      continue;
    }
    if (!/^using 'main\.bicep'\s*$/m.test(text)) problems.push(`${path}: does not start from "using 'main.bicep'"`);
    const set = new Map([...text.matchAll(/^param\s+(\w+)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    for (const p of requiredParams(main)) if (!set.has(p.name)) problems.push(`${path}: does not set required parameter '${p.name}'`);
    for (const name of set.keys()) if (!declared.has(name)) problems.push(`${path}: sets '${name}', which main.bicep does not declare`);
    if (set.get('environmentName') !== `'${env}'`) problems.push(`${path}: environmentName is not '${env}'`);
  }
  return problems;
}

/** The keys of an object literal that starts at `open` (the index of its `{`). */
function objectKeys(text: string, open: number): string[] {
  let depth = 0;
  let end = open;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  return [...text.slice(open, end).matchAll(/^\s+([A-Za-z][A-Za-z0-9_]*)\s*:/gm)].map((m) => m[1]!);
}

/**
 * App settings the code reads: the keys of every environment schema in shared/ (each `const
 * <name> = z.object({...})` in a module that exports a `load...Settings(env)` loader, whatever the
 * constant is called: settings.ts, alertSettings.ts, eventSettings.ts, askSettings.ts, ...),
 * `process.env.X` in functions/ and shared/, `%X%` binding expressions, and the binding
 * connections by trigger kind (each must be identity-based: `<connection>__queueServiceUri` for a
 * queue trigger, `__blobServiceUri` for a blob trigger, never the connection-string form).
 */
export function settingsReadByCode(repo: Repo): { names: Set<string>; connections: Set<string>; connectionServices: Map<string, Set<'blob' | 'queue'>>; schemas: string[] } {
  const names = new Set<string>();
  const connections = new Set<string>();
  const connectionServices = new Map<string, Set<'blob' | 'queue'>>();
  const schemas: string[] = [];
  for (const [path, text] of repo) {
    if (!(path.startsWith('functions/') || path.startsWith('shared/')) || !path.endsWith('.ts')) continue;
    const loader = /export function load\w*Settings\(env/.test(text);
    const schemaDecls = loader ? [...text.matchAll(/const\s+\w+\s*=\s*z\s*\.\s*object\(\s*\{/g)] : [];
    if (loader && schemaDecls.length === 0) throw new Error(`${path}: a settings loader without a z.object schema (the reader is out of date)`);
    for (const m of schemaDecls) {
      schemas.push(path);
      for (const key of objectKeys(text, m.index + m[0].length - 1)) if (/^[A-Z][A-Z0-9_]*(__[A-Za-z]+)?$/.test(key)) names.add(key);
    }
    for (const m of text.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*['"]([A-Za-z_]\w*)['"]\s*\])/g)) names.add(m[1] ?? m[2]!);
    if (!path.startsWith('functions/')) continue;
    for (const m of text.matchAll(/'%([A-Za-z_]\w*)%/g)) names.add(m[1]!);
    for (const m of text.matchAll(/connection:\s*'([A-Za-z_]\w*)'/g)) connections.add(m[1]!);
    // A function file registers one function (register.storageQueue / storageBlob / ...): its connections are that trigger's.
    const kind = /register\.storage(Queue|Blob)\(/.exec(text)?.[1];
    if (kind) {
      for (const m of text.matchAll(/connection:\s*'([A-Za-z_]\w*)'/g)) {
        const services = connectionServices.get(m[1]!) ?? new Set();
        services.add(kind === 'Queue' ? 'queue' : 'blob');
        connectionServices.set(m[1]!, services);
      }
    }
  }
  if (!schemas.includes(SETTINGS)) throw new Error(`${SETTINGS}: no env schema found (the reader is out of date)`);
  return { names, connections, connectionServices, schemas };
}

/** Read by the code but deliberately not set in Azure, with the reason. */
export const NOT_SET_IN_AZURE: Record<string, string> = {
  SOUNDLAKE_STORAGE: 'the connection-string form, for Azurite; Azure uses the SOUNDLAKE_STORAGE__*ServiceUri settings (managed identity)',
  SOUNDLAKE_STORAGE__accountName: 'read only to refuse it: the form earlier releases used, which queue triggers outside AzureWebJobsStorage do not accept',
  ACS_CONNECTION_STRING: 'carries an access key, for local stand-ins; Azure uses ACS_ENDPOINT with the managed identity',
  DATABRICKS_TOKEN: 'a personal access token; Azure uses an Entra token of the managed identity',
  ALERT_WEBHOOK_URL: 'a Teams/Slack webhook URL is a secret; infra holds none (README: Key Vault reference)',
  ALERT_WEBHOOK_KIND: 'only meaningful with ALERT_WEBHOOK_URL',
  SQL_ENDPOINT_HOST: 'the local SQL endpoint (ASK_ENDPOINT=local, loopback only); Azure uses the Databricks SQL warehouse',
  SQL_ENDPOINT_PORT: 'the local SQL endpoint (ASK_ENDPOINT=local, loopback only); Azure uses the Databricks SQL warehouse',
  BRONZE_DIR: "a local folder lake for the CLI and the local medallion; settings refuse it in Azure, where bronze goes to the storage account's container",
};

/** Settings Flex Consumption rejects (the runtime comes from functionAppConfig) or that would carry a key. */
export const FORBIDDEN_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
  'AzureWebJobsStorage',
  'SOUNDLAKE_STORAGE',
  'APPINSIGHTS_INSTRUMENTATIONKEY',
  'ACS_CONNECTION_STRING',
  'DATABRICKS_TOKEN',
];

export function appSettingsDecl(repo: Repo): Map<string, Value> {
  return body(decl(bicep(repo, FUNCTION_APP), 'var', 'appSettings').value);
}

export function checkAppSettings(repo: Repo): string[] {
  const problems: string[] = [];
  const set = appSettingsDecl(repo);
  const { names, connections, connectionServices } = settingsReadByCode(repo);
  for (const name of names) {
    if (name in NOT_SET_IN_AZURE) continue;
    if (!set.has(name)) problems.push(`${FUNCTION_APP}: app setting ${name} (read by the code) is not set`);
  }
  // Functions identity-based connections: `__accountName` serves AzureWebJobsStorage only; any
  // other connection is read through its service URIs.
  for (const c of connections) {
    if (c === 'AzureWebJobsStorage') continue;
    for (const service of connectionServices.get(c) ?? []) {
      if (!set.has(`${c}__${service}ServiceUri`)) problems.push(`${FUNCTION_APP}: binding connection ${c} (${service} trigger) has no identity-based ${c}__${service}ServiceUri setting`);
    }
    if (set.has(`${c}__accountName`)) problems.push(`${FUNCTION_APP}: ${c}__accountName is set; outside AzureWebJobsStorage a connection is identity-based through its __*ServiceUri settings`);
  }
  if (!set.has('AzureWebJobsStorage__accountName')) problems.push(`${FUNCTION_APP}: the host storage is not identity-based (AzureWebJobsStorage__accountName)`);
  for (const name of FORBIDDEN_SETTINGS) if (set.has(name)) problems.push(`${FUNCTION_APP}: app setting ${name} must not be set (Flex Consumption / no keys)`);
  // The settings must reach the site.
  const site = decl(bicep(repo, FUNCTION_APP), 'resource', 'site');
  const loop = at(site.value, 'properties', 'siteConfig', 'appSettings');
  if (loop?.kind !== 'for' || !loop.source.includes('appSettings')) problems.push(`${FUNCTION_APP}: siteConfig.appSettings is not built from var appSettings`);
  return problems;
}

/** App settings whose value is a secret: in Azure they may only be Key Vault references (or empty). */
const SECRET_SETTING = /(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD|WEBHOOK_URL)$/;
const KEY_VAULT_REFERENCE = String.raw`'@Microsoft\.KeyVault\(SecretUri=[^']*\)'`;

/**
 * Every secret-like app setting is a Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`),
 * or a condition that chooses between one and '' (not set): never a value, a parameter or an output.
 */
export function checkSecretSettings(repo: Repo): string[] {
  const problems: string[] = [];
  const reference = new RegExp(`^${KEY_VAULT_REFERENCE}$`);
  const conditional = new RegExp(`^[^?']+\\?(''|${KEY_VAULT_REFERENCE}):(''|${KEY_VAULT_REFERENCE})$`);
  for (const [name, value] of appSettingsDecl(repo)) {
    if (!SECRET_SETTING.test(name)) continue;
    const text = value.kind === 'string' ? `'${value.parts.map((p) => (typeof p === 'string' ? p : `\${${p.expr}}`)).join('')}'` : value.kind === 'expr' ? value.text : '';
    const ok = value.kind === 'string' ? reference.test(text) : value.kind === 'expr' && conditional.test(text) && text.includes('@Microsoft.KeyVault');
    if (!ok) problems.push(`${FUNCTION_APP}: ${name} is not a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)); a secret never sits in a template`);
  }
  return problems;
}

/**
 * The catalog's named sources reach their connection strings in Azure: the site's settings take
 * `var sourceSettings`, which makes only Key Vault references; and every app setting a source of
 * soundlake.yaml names is set, by the template or by every environment's `sourceSecrets`.
 */
export function checkSourceSettings(repo: Repo): string[] {
  const problems: string[] = [];
  const app = bicep(repo, FUNCTION_APP);
  const made = decl(app, 'var', 'sourceSettings').value;
  const text = made?.kind === 'expr' ? made.text : '';
  if (!/^toObject\(sourceSecrets,.*'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\/\$\{s\.secretName\}\/\)'\)$/.test(text.replace(/\s+/g, ''))) {
    problems.push(`${FUNCTION_APP}: var sourceSettings must make each source setting a Key Vault reference (toObject(sourceSecrets, ...))`);
  }
  const loop = at(decl(app, 'resource', 'site').value, 'properties', 'siteConfig', 'appSettings');
  if (loop?.kind !== 'for' || !loop.source.includes('sourceSettings')) problems.push(`${FUNCTION_APP}: siteConfig.appSettings does not take var sourceSettings`);
  const catalog = repo.get('soundlake.yaml');
  if (catalog === undefined) return [...problems, 'soundlake.yaml: missing'];
  const set = appSettingsDecl(repo);
  // The SQL sources' connection strings (http and rest sources name settings of other kinds).
  for (const source of parsePipelineConfig(catalog).sources ?? []) {
    const setting = source.url?.setting;
    if (setting === undefined || set.has(setting)) continue;
    for (const env of ENVIRONMENTS) {
      const params = repo.get(`${BICEP_DIR}/main.${env}.bicepparam`) ?? '';
      if (!new RegExp(`setting:\\s*'${setting}'`).test(params)) {
        problems.push(`soundlake.yaml: source ${source.name} reads app setting ${setting}, which main.${env}.bicepparam does not set (sourceSecrets: [{ setting: '${setting}', secretName: '...' }])`);
      }
    }
  }
  return problems;
}

/** A scope over a template's vars and params: params from `args` (a module call), else defaults, else `samples`. */
export function templateScope(file: BicepFile, args: (name: string) => unknown, samples: Record<string, unknown> = {}): Scope {
  const cache = new Map<string, unknown>();
  const scope: Scope = (name) => {
    if (cache.has(name)) return cache.get(name);
    let value: unknown;
    const found = file.decls.find((d) => (d.kind === 'var' || d.kind === 'param') && d.name === name);
    if (!found) throw new Unsupported(`${file.path}: '${name}' is neither a param nor a var`);
    if (found.kind === 'var') value = evaluate(found.value!, scope);
    else {
      try {
        value = args(name);
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        if (name in samples) value = samples[name];
        else if (found.value) value = evaluate(found.value, scope);
        else throw err;
      }
    }
    cache.set(name, value);
    return value;
  };
  return scope;
}

/** The scope of a module as main.bicep calls it (values main can compute; `samples` for the rest). */
export function moduleScope(repo: Repo, modulePath: string, mainSamples: Record<string, unknown>, moduleSamples: Record<string, unknown>): Scope {
  const main = bicep(repo, MAIN);
  const mainScope = templateScope(main, () => { throw new Unsupported('main.bicep has no caller'); }, mainSamples);
  const call = declsOf(main, 'module').find((m) => resolvePath(MAIN, m.type ?? '') === modulePath);
  if (!call) throw new Error(`${MAIN} does not call ${modulePath}`);
  const passed = body(at(call.value, 'params'));
  return templateScope(
    bicep(repo, modulePath),
    (name) => {
      const v = passed.get(name);
      if (!v) throw new Unsupported(`not passed: ${name}`);
      return evaluate(v, mainScope);
    },
    moduleSamples,
  );
}

/** What main.bicep creates in the lake account, by kind. */
export function lakeResources(repo: Repo): { containers: string[]; queues: string[]; tables: string[] } {
  const main = bicep(repo, MAIN);
  const call = decl(main, 'module', 'lakeStorage');
  const mainScope = templateScope(main, () => { throw new Unsupported('param'); });
  const list = (key: string): string[] => {
    const v = at(call.value, 'params', key);
    return v ? (evaluate(v, mainScope) as string[]) : [];
  };
  return { containers: list('containers'), queues: list('queues'), tables: list('tables') };
}

/** Every container, queue and table an app setting names exists in the lake account, queues with their poison queue. */
export function checkLakeNames(repo: Repo): string[] {
  const problems: string[] = [];
  const created = lakeResources(repo);
  const main = bicep(repo, MAIN);
  const lake = evaluate(decl(main, 'var', 'lake').value!, () => { throw new Unsupported('lake'); }) as Record<string, string>;
  for (const [name, value] of appSettingsDecl(repo)) {
    const m = value.kind === 'expr' ? /^lake\.(\w+)$/.exec(value.text) : null;
    if (!m) continue;
    const resolved = lake[m[1]!];
    if (resolved === undefined) {
      problems.push(`${FUNCTION_APP}: ${name} = lake.${m[1]}, which main.bicep's var lake does not define`);
      continue;
    }
    const kind = name.endsWith('_QUEUE') ? 'queues' : name.endsWith('_TABLE') ? 'tables' : name.endsWith('_CONTAINER') ? 'containers' : undefined;
    if (!kind) continue;
    if (!created[kind].includes(resolved)) problems.push(`${MAIN}: ${name} names ${kind.slice(0, -1)} '${resolved}', which the lake account does not create`);
    if (kind === 'queues' && !created.queues.includes(`${resolved}-poison`)) problems.push(`${MAIN}: no poison queue '${resolved}-poison' for ${name}`);
  }
  // The bundle reads the same containers.
  const bundle = repo.get('databricks/databricks.yml');
  if (bundle) {
    const vars = (parseYaml(bundle) as { variables: Record<string, { default?: string }> }).variables;
    const container = (v: string): string | undefined => /^abfss:\/\/([^@]+)@/.exec(vars[v]?.default ?? '')?.[1];
    if (container('bronze_location') !== lake.bronzeContainer) problems.push(`databricks.yml bronze_location container is ${container('bronze_location')}, infra creates '${lake.bronzeContainer}'`);
    if (container('lake_location') !== lake.lakeContainer) problems.push(`databricks.yml lake_location container is ${container('lake_location')}, infra creates '${lake.lakeContainer}'`);
    if (!created.containers.includes(lake.lakeContainer!)) problems.push(`${MAIN}: the lake container '${lake.lakeContainer}' is not created`);
  }
  return problems;
}

/**
 * Built-in role definition ids, as published in the Azure built-in roles reference. Only these
 * may appear in the templates, and only in lib/roles.bicep under their own name.
 */
export const DOCUMENTED_ROLES: Record<string, string> = {
  StorageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe', // Storage Blob Data Contributor
  StorageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', // Storage Blob Data Owner
  StorageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', // Storage Blob Data Reader
  StorageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88', // Storage Queue Data Contributor
  StorageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', // Storage Table Data Contributor
  MonitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb', // Monitoring Metrics Publisher
  CommunicationAndEmailServiceOwner: '09976791-48a7-449e-bb21-39d1a415f350', // Communication and Email Service Owner
  KeyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6', // Key Vault Secrets User
};

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function checkRoleIds(repo: Repo): string[] {
  const problems: string[] = [];
  for (const path of bicepPaths(repo)) {
    if (path === ROLES) continue;
    for (const m of repo.get(path)!.matchAll(GUID)) problems.push(`${path}: GUID ${m[0]} outside ${ROLES}`);
  }
  const roles = body(decl(bicep(repo, ROLES), 'var', 'builtInRoleIds').value);
  for (const [name, value] of roles) {
    const id = value.kind === 'string' ? value.parts.join('') : '';
    if (!(name in DOCUMENTED_ROLES)) problems.push(`${ROLES}: ${name} is not a documented built-in role here`);
    else if (id.toLowerCase() !== DOCUMENTED_ROLES[name]) problems.push(`${ROLES}: ${name} is ${id}, the documented id is ${DOCUMENTED_ROLES[name]}`);
  }
  // Every role assignment names its role through builtInRoleIds and targets a service principal.
  for (const path of bicepPaths(repo)) {
    for (const r of declsOf(bicep(repo, path), 'resource')) {
      if (!r.type?.startsWith('Microsoft.Authorization/roleAssignments@')) continue;
      const props = at(r.value, 'properties');
      const roleDef = at(props, 'roleDefinitionId');
      if (roleDef?.kind !== 'expr' || !roleDef.text.includes('builtInRoleIds')) problems.push(`${path}:${r.line}: role assignment '${r.name}' does not take its role from builtInRoleIds`);
      const type = at(props, 'principalType');
      if (type?.kind !== 'string' || type.parts.join('') !== 'ServicePrincipal') problems.push(`${path}:${r.line}: role assignment '${r.name}' has no principalType 'ServicePrincipal'`);
    }
  }
  return problems;
}

export type Grant = { scope: string; scopeType: string; principal: string; role: string };

/**
 * The RBAC map of rbac.bicep: which principal gets which role on which resource. A grant on one
 * resource of a loop (a container, queue or table) is named after it: `container bronze`.
 * Principals are the rbac.bicep parameters they come from; names come from main.bicep's `lake`.
 */
export function rbacGrants(repo: Repo): Grant[] {
  const file = bicep(repo, RBAC);
  const main = bicep(repo, MAIN);
  const lake = evaluate(decl(main, 'var', 'lake').value!, () => { throw new Unsupported('lake'); });
  const principals = Object.fromEntries(declsOf(file, 'param').filter((p) => p.name.endsWith('PrincipalId')).map((p) => [p.name, p.name]));
  const scope = templateScope(file, (n) => { throw new Unsupported(n); }, { lake, ...principals });
  const grants: Grant[] = [];
  for (const r of declsOf(file, 'resource')) {
    if (!r.type?.startsWith('Microsoft.Authorization/roleAssignments@')) continue;
    if (r.value?.kind !== 'for') throw new Error(`${RBAC}:${r.line}: expected a loop over an assignment list`);
    const scopeValue = body(r.value).get('scope');
    const scopeText = scopeValue?.kind === 'expr' ? scopeValue.text : '?';
    const indexed = /^(\w+)\[\w+\]$/.exec(scopeText);
    const target = decl(file, 'resource', indexed ? indexed[1]! : scopeText);
    const list = decl(file, 'var', r.value.source).value;
    if (!list) throw new Error(`${RBAC}: no list ${r.value.source}`);
    for (const item of evaluate(list, scope) as Record<string, string>[]) {
      const kind = (['container', 'queue', 'table'] as const).find((k) => k in item);
      if (indexed && !kind) throw new Error(`${RBAC}: ${r.value.source} entries name no container, queue or table`);
      grants.push({
        scope: indexed ? `${kind} ${item[kind!]}` : scopeText,
        scopeType: (target.type ?? '').split('@')[0]!,
        principal: item.principalId ?? '?',
        role: item.role ?? '?',
      });
    }
  }
  return grants;
}

/** How main.bicep feeds rbac.bicep: parameter -> the module output it passes. */
export function rbacWiring(repo: Repo): Record<string, string> {
  const call = decl(bicep(repo, MAIN), 'module', 'rbac');
  return Object.fromEntries([...body(at(call.value, 'params'))].map(([k, v]) => [k, v.kind === 'expr' ? v.text : '?']));
}

/** No key, SAS, connection string with a secret, secure default or stored credential anywhere. */
export function checkNoSecrets(repo: Repo): string[] {
  const problems: string[] = [];
  const banned: [RegExp, string][] = [
    [/\blist[A-Za-z]*Keys?\s*\(/, 'listKeys()'],
    [/\blist(Account|Service)Sas\s*\(/, 'a SAS'],
    [/AccountKey=/i, 'an account key'],
    [/SharedAccessSignature|[?&]sig=/i, 'a SAS'],
    [/InstrumentationKey=/i, 'an instrumentation key'],
    [/\bpassword\s*[:=]/i, 'a password'],
    // A client secret's value; a setting that is a Key Vault reference to one is how it should be.
    [/client[-_]?secret\s*[:=]\s*'(?!@Microsoft\.KeyVault\()/i, 'a client secret'],
  ];
  for (const [path, text] of repo) {
    if (!(path.startsWith(`${BICEP_DIR}/`) || path.startsWith('.github/'))) continue;
    for (const [re, what] of banned) if (re.test(text)) problems.push(`${path}: contains ${what} (${re})`);
  }
  for (const path of bicepPaths(repo)) {
    const file = bicep(repo, path);
    for (const p of declsOf(file, 'param')) {
      if (p.decorators.includes('secure') && p.hasDefault) problems.push(`${path}:${p.line}: secure parameter '${p.name}' has a default`);
    }
    for (const r of declsOf(file, 'resource')) {
      if (r.existing) continue;
      const props = at(r.value, 'properties');
      const flag = (key: string): string | undefined => {
        const v = at(props, key);
        return v?.kind === 'expr' ? v.text : undefined;
      };
      if (r.type?.startsWith('Microsoft.Storage/storageAccounts@') && flag('allowSharedKeyAccess') !== 'false') problems.push(`${path}:${r.line}: storage account without allowSharedKeyAccess: false`);
      if (r.type?.startsWith('Microsoft.Storage/storageAccounts@') && flag('allowBlobPublicAccess') !== 'false') problems.push(`${path}:${r.line}: storage account allows public blob access`);
      if (r.type?.startsWith('Microsoft.Communication/communicationServices@') && flag('disableLocalAuth') !== 'true') problems.push(`${path}:${r.line}: Communication Services with access keys enabled`);
      if (r.type?.startsWith('Microsoft.Insights/components@') && flag('DisableLocalAuth') !== 'true') problems.push(`${path}:${r.line}: Application Insights with local auth enabled`);
    }
  }
  const sourceUrl = appSettingsDecl(repo).get('SOURCE_URL');
  const urlText = sourceUrl?.kind === 'string' ? sourceUrl.parts.map((p) => (typeof p === 'string' ? p : '${}')).join('') : '';
  if (!urlText.startsWith('mssql://') || urlText.includes('@')) problems.push(`${FUNCTION_APP}: SOURCE_URL must be an mssql:// URL without user or password (Entra auth)`);
  return problems;
}

export type Filter = {
  includedEventTypes: string[];
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  isSubjectCaseSensitive?: boolean;
  advancedFilters: { operatorType: string; key: string; values: string[] }[];
};

/** The Event Grid subscription's filter with main.bicep's values filled in. */
export function eventGridFilter(repo: Repo): Filter {
  const file = bicep(repo, EVENT_GRID);
  const sub = declsOf(file, 'resource').find((r) => r.type?.startsWith('Microsoft.EventGrid/systemTopics/eventSubscriptions@'));
  if (!sub) throw new Error(`${EVENT_GRID}: no event subscription`);
  const filter = at(sub.value, 'properties', 'filter');
  if (!filter) throw new Error(`${EVENT_GRID}: the subscription has no filter`);
  return evaluate(filter, moduleScope(repo, EVENT_GRID, {}, {})) as Filter;
}

export type BlobEvent = { eventType: string; subject: string; data: { api: string } };

function lookup(event: BlobEvent, key: string): unknown {
  return key.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), event);
}

/** Event Grid filter semantics: event type, subject prefix/suffix, then every advanced filter (AND); string tests ignore case. */
export function delivers(filter: Filter, event: BlobEvent): boolean {
  const fold = (s: string): string => s.toLowerCase();
  const subject = filter.isSubjectCaseSensitive ? event.subject : fold(event.subject);
  const subj = (s: string): string => (filter.isSubjectCaseSensitive ? s : fold(s));
  if (filter.includedEventTypes.length && !filter.includedEventTypes.includes(event.eventType)) return false;
  if (filter.subjectBeginsWith && !subject.startsWith(subj(filter.subjectBeginsWith))) return false;
  if (filter.subjectEndsWith && !subject.endsWith(subj(filter.subjectEndsWith))) return false;
  for (const f of filter.advancedFilters ?? []) {
    const raw = lookup(event, f.key);
    if (typeof raw !== 'string') return false;
    const v = fold(raw);
    const values = f.values.map(fold);
    const ok = {
      StringIn: () => values.includes(v),
      StringNotIn: () => !values.includes(v),
      StringBeginsWith: () => values.some((x) => v.startsWith(x)),
      StringNotBeginsWith: () => !values.some((x) => v.startsWith(x)),
      StringEndsWith: () => values.some((x) => v.endsWith(x)),
      StringNotEndsWith: () => !values.some((x) => v.endsWith(x)),
      StringContains: () => values.some((x) => v.includes(x)),
      StringNotContains: () => !values.some((x) => v.includes(x)),
    }[f.operatorType];
    if (!ok) throw new Error(`operator ${f.operatorType} is not modelled by this test`);
    if (!ok()) return false;
  }
  return true;
}

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
type Job = { uses?: string; with?: Record<string, unknown>; needs?: string | string[]; environment?: unknown; steps?: Step[]; permissions?: Record<string, string> };
type Workflow = { on?: unknown; permissions?: Record<string, string>; jobs: Record<string, Job> };

export function workflow(repo: Repo, name: string): Workflow {
  const text = repo.get(`.github/workflows/${name}`);
  if (text === undefined) throw new Error(`missing .github/workflows/${name}`);
  return parseYaml(text) as Workflow;
}

/** A workflow and the local reusable workflows its jobs call. */
function withCalled(repo: Repo, name: string, seen = new Set<string>()): { name: string; wf: Workflow; text: string }[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const wf = workflow(repo, name);
  const out = [{ name, wf, text: repo.get(`.github/workflows/${name}`)! }];
  for (const job of Object.values(wf.jobs)) {
    const m = job.uses ? /^\.\/\.github\/workflows\/(.+)$/.exec(job.uses) : null;
    if (m) out.push(...withCalled(repo, m[1]!, seen));
  }
  return out;
}

export function checkWorkflows(repo: Repo): string[] {
  const problems: string[] = [];
  const ci = workflow(repo, 'ci.yml');
  const ciOn = ci.on as Record<string, unknown> | undefined;
  if (!ciOn || !('push' in ciOn) || !('pull_request' in ciOn)) problems.push('ci.yml: does not run on push and pull_request');
  const ciRuns = Object.values(ci.jobs).flatMap((j) => j.steps ?? []).map((s) => s.run ?? '');
  if (!ciRuns.some((r) => /^\s*bash \.ci\/run\s*$/m.test(r))) problems.push('ci.yml: does not run `bash .ci/run`');

  const deploy = workflow(repo, 'deploy.yml');
  const on = deploy.on as Record<string, unknown> | undefined;
  if (!on || !('workflow_dispatch' in on) || !('push' in on)) problems.push('deploy.yml: not triggered by workflow_dispatch and push');
  const all = withCalled(repo, 'deploy.yml');
  const text = all.map((w) => w.text).join('\n');
  const jobs = all.flatMap((w) => Object.values(w.wf.jobs));
  const steps = jobs.flatMap((j) => j.steps ?? []);

  const logins = steps.filter((s) => s.uses?.startsWith('azure/login@'));
  if (logins.length === 0) problems.push('deploy: no azure/login step');
  for (const s of logins) {
    for (const k of ['client-id', 'tenant-id', 'subscription-id']) {
      if (!String(s.with?.[k] ?? '').includes('secrets.')) problems.push(`deploy: azure/login ${k} does not come from a secret`);
    }
    if (s.with && ('creds' in s.with || 'client-secret' in s.with)) problems.push('deploy: azure/login with a stored credential');
  }
  for (const w of all) {
    const perms = [w.wf.permissions, ...Object.values(w.wf.jobs).map((j) => j.permissions)];
    if (!perms.some((p) => p?.['id-token'] === 'write')) problems.push(`${w.name}: no id-token: write permission (OIDC)`);
  }

  // Every environment's parameter file is what gets deployed.
  const paramRefs = [...text.matchAll(/infra\/bicep\/main\.([^.\s"]+)\.bicepparam/g)].map((m) => m[1]!);
  if (paramRefs.length === 0) problems.push('deploy: does not deploy a .bicepparam');
  for (const ref of paramRefs) {
    if (ref.includes('${')) continue;
    if (!repo.has(`${BICEP_DIR}/main.${ref}.bicepparam`)) problems.push(`deploy: refers to missing ${BICEP_DIR}/main.${ref}.bicepparam`);
  }
  for (const env of ENVIRONMENTS) {
    const job = Object.values(deploy.jobs).find((j) => j.with?.environment === env);
    if (!job) problems.push(`deploy.yml: no job deploys ${env}`);
  }
  const prod = Object.values(deploy.jobs).find((j) => j.with?.environment === 'prod');
  if (prod && ![prod.needs].flat().includes('dev')) problems.push('deploy.yml: prod does not wait for dev');
  const envJobs = jobs.filter((j) => j.steps?.some((s) => s.uses?.startsWith('azure/login@')));
  for (const j of envJobs) {
    const env = String(j.environment ?? '');
    if (!env.includes('inputs.environment') && !ENVIRONMENTS.some((e) => env === e)) problems.push('deploy: the job that signs in to Azure does not run in a GitHub environment (no approval gate, no environment secrets)');
  }

  if (!/az deployment group create/.test(text)) problems.push('deploy: no `az deployment group create`');
  if (!/databricks bundle deploy/.test(text)) problems.push('deploy: no `databricks bundle deploy`');
  if (!/DATABRICKS_AUTH_TYPE:\s*azure-cli/.test(text)) problems.push('deploy: the Databricks CLI does not use the Azure CLI (federated) sign-in');
  if (!/DATABRICKS_BUNDLE_ENGINE:\s*direct/.test(text)) problems.push('deploy: the bundle deployment engine is not pinned to direct (external locations need it)');
  if (!/npm ci/.test(text) || !/npm run build/.test(text) || !/npm prune --omit=dev/.test(text)) problems.push('deploy: the Functions package is not built with npm ci, npm run build, npm prune --omit=dev');
  const functionsDeploy = steps.find((s) => s.uses?.startsWith('Azure/functions-action@'));
  if (functionsDeploy?.with?.sku !== 'flexconsumption') problems.push('deploy: no Azure/functions-action step with sku: flexconsumption');

  // The Databricks CLI: a pinned release, the direct engine, and a fresh federated sign-in (the
  // Azure CLI re-presents GitHub's ~10-minute OIDC token when it asks for a Databricks token).
  problems.push(...checkDatabricksCli(steps, 'deploy'));
  for (const job of jobs) {
    const list = job.steps ?? [];
    const bundle = list.findIndex((s) => /databricks bundle deploy/.test(s.run ?? ''));
    if (bundle < 0) continue;
    const lastLogin = list.slice(0, bundle).map((s) => s.uses?.startsWith('azure/login@') ?? false).lastIndexOf(true);
    const longSince = list.slice(lastLogin + 1, bundle).filter((s) => /az deployment group create/.test(s.run ?? '') || s.uses?.startsWith('Azure/functions-action@') || /npm ci/.test(s.run ?? ''));
    if (lastLogin < 0 || longSince.length > 0) problems.push('deploy: no azure/login right before the Databricks bundle step (the OIDC token of an earlier sign-in has expired by then)');
  }

  // The runtime deployed and the Node the package is built with are the same major.
  const runtime = /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'(\d+)'/.exec(repo.get(FUNCTION_APP) ?? '')?.[1];
  const buildNode = steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version'];
  if (!runtime || String(buildNode) !== runtime) problems.push(`deploy: builds with Node ${String(buildNode)}, the Function App runs Node ${runtime}`);
  return problems;
}

function checkDatabricksCli(steps: Step[], where: string): string[] {
  const problems: string[] = [];
  const setups = steps.filter((s) => s.uses?.startsWith('databricks/setup-cli@'));
  if (setups.length === 0) problems.push(`${where}: no databricks/setup-cli step`);
  for (const s of setups) {
    const ref = s.uses!.split('@')[1]!;
    const version = String(s.with?.version ?? '');
    if (!/^v\d+\.\d+\.\d+$/.test(ref) || !/^\d+\.\d+\.\d+$/.test(version) || ref !== `v${version}`) problems.push(`${where}: databricks/setup-cli@${ref} is not pinned to one release (tag and version input)`);
  }
  return problems;
}

/** ci.yml compiles what cannot be compiled on a developer's machine: Bicep, the bundle, Node 22. */
export function checkCiJobs(repo: Repo): string[] {
  const problems: string[] = [];
  const ci = workflow(repo, 'ci.yml');
  const runs = (job: Job): string => (job.steps ?? []).map((s) => s.run ?? '').join('\n');
  const jobs = Object.entries(ci.jobs);

  const bicepJob = jobs.find(([, j]) => /az bicep build --file/.test(runs(j)));
  if (!bicepJob) problems.push('ci.yml: no job runs `az bicep build`');
  else {
    const text = runs(bicepJob[1]);
    if (!/az bicep install --version/.test(text)) problems.push('ci.yml: the Bicep CLI version is not pinned');
    if (!/az bicep lint --file/.test(text)) problems.push('ci.yml: the templates are not linted');
    if (!/find infra\/bicep -name '\*\.bicep'/.test(text)) problems.push('ci.yml: not every template under infra/bicep is built');
    if (!/az bicep build-params --file "infra\/bicep\/main\.\$env\.bicepparam"/.test(text) || !/for env in dev prod/.test(text)) problems.push('ci.yml: the dev and prod parameter files are not built');
    const env = bicepJob[1] as Job & { env?: Record<string, unknown> };
    for (const name of new Set([...repo.entries()].filter(([p]) => p.endsWith('.bicepparam')).flatMap(([, t]) => [...t.matchAll(/readEnvironmentVariable\('(\w+)'\)/g)].map((m) => m[1]!)))) {
      if (!(name in (env.env ?? {}))) problems.push(`ci.yml: ${name} (read by a .bicepparam without a default) has no placeholder`);
    }
  }

  const bundleJob = jobs.find(([, j]) => /databricks bundle validate/.test(runs(j)));
  if (!bundleJob) problems.push('ci.yml: no job runs `databricks bundle validate`');
  else {
    const [, job] = bundleJob as [string, Job & { if?: string; env?: Record<string, unknown> }];
    const text = runs(job);
    if (!/for target in dev prod/.test(text) || !/validate -t "\$target"/.test(text)) problems.push('ci.yml: the bundle is not validated for both dev and prod');
    if (!String(job.if ?? '').includes('github.event.pull_request.head.repo.full_name == github.repository')) problems.push('ci.yml: bundle validate is not skipped for pull requests from forks');
    if (job.environment !== 'dev') problems.push('ci.yml: bundle validate does not run in the dev environment (its secrets)');
    if (job.permissions?.['id-token'] !== 'write') problems.push('ci.yml: bundle validate has no id-token: write (OIDC)');
    if (job.env?.DATABRICKS_BUNDLE_ENGINE !== 'direct') problems.push('ci.yml: bundle validate does not use the direct engine');
    problems.push(...checkDatabricksCli(job.steps ?? [], 'ci.yml'));
  }

  const node22 = jobs.find(([, j]) => (j.steps ?? []).some((s) => s.uses?.startsWith('actions/setup-node@') && String(s.with?.['node-version']) === '22') && /vitest run/.test(runs(j)));
  if (!node22) problems.push('ci.yml: no job runs the TypeScript tests on Node 22');
  return problems;
}

