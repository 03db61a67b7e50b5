/**
 * How the workflows wire the Databricks bundle to the Bicep deployment, checked as pure functions
 * of a `Repo` (like checks.ts): every required bundle variable reaches every bundle command, the
 * values that come from the deployment come from outputs it declares, the ids the bundle creates
 * reach the second Bicep pass, and the copies of a name on both sides agree.
 */
import { parse as parseYaml } from 'yaml';
import { at, body, decl, declsOf, evaluate } from './bicep.js';
import type { Repo } from './checks.js';
import { bicep, BICEP_DIR, ENVIRONMENTS, FUNCTION_APP, MAIN } from './checks.js';

export const BUNDLE = 'databricks/databricks.yml';
export const REQUIRE_VARS_SCRIPT = '.github/scripts/require-bundle-vars.sh';
export const DEPLOY_ENVIRONMENT = '.github/workflows/deploy-environment.yml';

type Step = { id?: string; name?: string; run?: string; uses?: string; env?: Record<string, unknown> };
type Job = { env?: Record<string, unknown>; steps?: Step[] };
type Workflow = { env?: Record<string, unknown>; jobs: Record<string, Job> };
type BundleVariable = { default?: unknown; lookup?: unknown; type?: string };
type BundleConfig = {
  bundle: { name: string; engine?: string };
  variables: Record<string, BundleVariable>;
  targets: Record<string, { variables?: Record<string, unknown> }>;
};

/** Variables a deploy or validate must be given: no default, no lookup, not set by every target. */
export function requiredBundleVariables(repo: Repo): string[] {
  const config = parseYaml(repo.get(BUNDLE) ?? '') as BundleConfig;
  const targets = Object.values(config.targets ?? {});
  return Object.entries(config.variables ?? {})
    .filter(([name, v]) => v.default === undefined && v.lookup === undefined && !targets.every((t) => t.variables && name in t.variables))
    .map(([name]) => name);
}

/** Bundle variables whose value a workflow takes from a Bicep deployment output (variable -> main.bicep output). */
export const FROM_DEPLOYMENT: Record<string, string> = {
  storage_account: 'lakeStorageAccountName',
  function_app_application_id: 'functionClientId',
};

/** The commands of a run script, one per line (backslash continuations joined). */
const commands = (run: string): string[] => run.replace(/\\\n\s*/g, ' ').split('\n');

/** Every step that runs a bundle command, with the environment it runs in. */
export function bundleSteps(repo: Repo): { where: string; job: Job; step: Step; env: Record<string, string> }[] {
  const out: { where: string; job: Job; step: Step; env: Record<string, string> }[] = [];
  for (const [path, text] of repo) {
    if (!path.startsWith('.github/workflows/')) continue;
    const wf = parseYaml(text) as Workflow;
    for (const [jobName, job] of Object.entries(wf.jobs ?? {})) {
      for (const step of job.steps ?? []) {
        if (!/databricks bundle (validate|deploy|summary)/.test(step.run ?? '')) continue;
        const env = Object.fromEntries(Object.entries({ ...wf.env, ...job.env, ...step.env }).map(([k, v]) => [k, String(v ?? '')]));
        out.push({ where: `${path.split('/').pop()} ${jobName} "${step.name ?? step.id ?? '?'}"`, job, step, env });
      }
    }
  }
  return out;
}

/**
 * Every bundle command in the workflows gets every required variable (as BUNDLE_VAR_<name> in its
 * step's environment or `--var name=` on the command), a GitHub variable may arrive empty so the
 * step checks them first (REQUIRE_VARS_SCRIPT), groups come from `vars.SOUNDLAKE_<NAME>` (the name
 * that script's message gives), and the rest from the deployment outputs that hold them.
 */
export function checkBundleVariables(repo: Repo): string[] {
  const problems: string[] = [];
  const required = requiredBundleVariables(repo);
  if (required.length === 0) problems.push(`${BUNDLE}: no required variable found (the reader is out of date)`);
  const steps = bundleSteps(repo);
  const where = new Set(steps.map((s) => s.where.split(' ')[0]));
  for (const wf of ['ci.yml', 'deploy-environment.yml']) if (!where.has(wf)) problems.push(`${wf}: runs no databricks bundle command`);
  const outputs = new Set(declsOf(bicep(repo, MAIN), 'output').map((o) => o.name));
  for (const { where, job, step, env } of steps) {
    const lines = commands(step.run ?? '').filter((l) => /databricks bundle (validate|deploy|summary)/.test(l));
    for (const name of required) {
      const viaEnv = `BUNDLE_VAR_${name}` in env;
      const viaFlag = lines.every((l) => new RegExp(`--var[ =]["']?${name}=`).test(l));
      if (!viaEnv && !viaFlag) {
        problems.push(`${where}: bundle variable ${name} is not given (BUNDLE_VAR_${name} or --var ${name}=...)`);
        continue;
      }
      if (!viaEnv) continue;
      const value = env[`BUNDLE_VAR_${name}`]!;
      if (name.endsWith('_group') && !new RegExp(`\\bvars\\.SOUNDLAKE_${name.toUpperCase()}\\b`).test(value)) {
        problems.push(`${where}: BUNDLE_VAR_${name} does not come from the GitHub environment variable SOUNDLAKE_${name.toUpperCase()}`);
      }
      const output = FROM_DEPLOYMENT[name];
      if (output) {
        if (!outputs.has(output)) problems.push(`${MAIN}: no output ${output} (the bundle's ${name})`);
        const m = /steps\.([\w-]+)\.outputs\.([\w-]+)/.exec(value);
        const source = m ? (job.steps ?? []).find((s) => s.id === m[1]) : undefined;
        const assigned = source && m ? commands(source.run ?? '').find((l) => l.includes(`${m[2]}=`)) : undefined;
        if (!assigned?.includes(`.${output}.value`)) problems.push(`${where}: BUNDLE_VAR_${name} does not come from the deployment output ${output}`);
      }
    }
    const bundleVars = Object.keys(env).filter((k) => k.startsWith('BUNDLE_VAR_'));
    const run = step.run ?? '';
    const check = run.indexOf('require-bundle-vars.sh');
    if (bundleVars.length > 0 && (check < 0 || check > run.search(/databricks bundle (validate|deploy|summary)/))) {
      problems.push(`${where}: does not run ${REQUIRE_VARS_SCRIPT} before its bundle commands (an unset GitHub variable arrives empty, and the CLI accepts it)`);
    }
    if (/--var[ =]["']?notification_emails=/.test(run)) problems.push(`${where}: notification_emails is complex; the CLI takes it from a variable-overrides file, not --var`);
  }
  if (!repo.has(REQUIRE_VARS_SCRIPT)) problems.push(`missing ${REQUIRE_VARS_SCRIPT}`);
  return problems;
}

/**
 * The Function App's application (client) id comes from Bicep, not from Microsoft Graph: the
 * site's system-assigned identity read as the `Microsoft.ManagedIdentity/identities` extension
 * resource named `default` (readable at extension scope; Azure/bicep-types-az, 2024-11-30), its
 * `properties.clientId` output by function-app.bicep and main.bicep.
 */
export function checkFunctionClientId(repo: Repo): string[] {
  const problems: string[] = [];
  const app = bicep(repo, FUNCTION_APP);
  const identity = declsOf(app, 'resource').find((r) => r.type?.startsWith('Microsoft.ManagedIdentity/identities@'));
  if (!identity) return [`${FUNCTION_APP}: no Microsoft.ManagedIdentity/identities resource for the site's identity`];
  const [, version] = identity.type!.split('@');
  // The version checked against Azure/bicep-types-az (generated/msi/microsoft.managedidentity/2024-11-30):
  // identities readable at extension scope, name 'default', properties.clientId. Another needs the same check.
  if (version !== '2024-11-30') problems.push(`${FUNCTION_APP}: Microsoft.ManagedIdentity/identities@${version} is not the stable version checked to have it (2024-11-30)`);
  if (!identity.existing) problems.push(`${FUNCTION_APP}: the identity resource must be 'existing' (it is read-only)`);
  const name = at(identity.value, 'name');
  if (name?.kind !== 'string' || name.parts.join('') !== 'default') problems.push(`${FUNCTION_APP}: the system-assigned identity resource is named 'default'`);
  const scope = at(identity.value, 'scope');
  const site = declsOf(app, 'resource').find((r) => r.type?.startsWith('Microsoft.Web/sites@'));
  if (scope?.kind !== 'expr' || scope.text !== site?.name) problems.push(`${FUNCTION_APP}: the identity resource is not scoped to the site`);
  const output = declsOf(app, 'output').find((o) => o.name === 'clientId');
  if (output?.value?.kind !== 'expr' || output.value.text !== `${identity.name}.properties.clientId`) problems.push(`${FUNCTION_APP}: output clientId is not ${identity.name}.properties.clientId`);
  const main = declsOf(bicep(repo, MAIN), 'output').find((o) => o.name === 'functionClientId');
  if (main?.value?.kind !== 'expr' || main.value.text !== 'functionApp.outputs.clientId') problems.push(`${MAIN}: output functionClientId is not functionApp.outputs.clientId`);
  return problems;
}

/** Ids the bundle creates that the second Bicep pass sets on the app: env name -> where the bundle summary has it. */
export const FROM_BUNDLE: Record<string, { summary: string; resource: [string, string]; parameter: string }> = {
  SOUNDLAKE_MEDALLION_JOB_ID: { summary: '.resources.jobs.medallion.id', resource: ['jobs', 'medallion'], parameter: 'medallionJobId' },
  SOUNDLAKE_SQL_WAREHOUSE_ID: { summary: '.resources.sql_warehouses.serving.id', resource: ['sql_warehouses', 'serving'], parameter: 'sqlWarehouseId' },
};

/**
 * Each environment variable a parameter file reads is set for every `az deployment group create`
 * of the deploy workflow; the ids the bundle creates go from `bundle summary` to the second pass,
 * and the first pass keeps the ids the last deployment had (the app never loses them between passes).
 */
export function checkDeploymentInputs(repo: Repo): string[] {
  const problems: string[] = [];
  const wf = parseYaml(repo.get(DEPLOY_ENVIRONMENT) ?? '') as Workflow;
  const job = Object.values(wf.jobs)[0]!;
  const passes = (job.steps ?? []).filter((s) => /az deployment group create/.test(s.run ?? ''));
  if (passes.length !== 2) problems.push(`${DEPLOY_ENVIRONMENT}: expected two Bicep passes, found ${passes.length}`);
  const read = new Set(ENVIRONMENTS.flatMap((env) => [...(repo.get(`${BICEP_DIR}/main.${env}.bicepparam`) ?? '').matchAll(/readEnvironmentVariable\('(\w+)'/g)].map((m) => m[1]!)));
  for (const name of read) {
    for (const step of passes) {
      const set = name in { ...wf.env, ...job.env, ...step.env } || new RegExp(`^\\s*export [^\\n]*\\b${name}\\b`, 'm').test(step.run ?? '');
      if (!set) problems.push(`${DEPLOY_ENVIRONMENT} "${step.name}": ${name} (read by a parameter file) is not set`);
    }
  }
  const bundleStep = (job.steps ?? []).find((s) => /databricks bundle deploy/.test(s.run ?? ''));
  const [first, second] = passes;
  const resources = bundleResources(repo);
  for (const [name, { summary, resource, parameter }] of Object.entries(FROM_BUNDLE)) {
    if (!resources[resource[0]]?.includes(resource[1])) problems.push(`databricks/resources: no ${resource.join('.')} (the bundle summary path ${summary})`);
    const line = commands(bundleStep?.run ?? '').find((l) => l.includes(summary));
    const out = line ? /(\w+)="\$\(/.exec(line)?.[1] : undefined;
    if (!out || !new RegExp(`echo "${out}=\\$${out}" >> "\\$GITHUB_OUTPUT"`).test(bundleStep?.run ?? '')) problems.push(`${DEPLOY_ENVIRONMENT}: the bundle step does not output ${summary} from the bundle summary`);
    const value = String(second?.env?.[name] ?? '');
    if (!out || !value.includes(`steps.${bundleStep?.id}.outputs.${out}`)) problems.push(`${DEPLOY_ENVIRONMENT}: the second pass does not take ${name} from the bundle step`);
    if (!first?.run?.includes(`.${parameter}.value`) || !new RegExp(`\\b${name}=`).test(first.run)) problems.push(`${DEPLOY_ENVIRONMENT}: the first pass does not keep the last deployment's ${parameter}`);
    if (!new RegExp(`^param ${parameter} = readEnvironmentVariable\\('${name}', ''\\)$`, 'm').test(repo.get(`${BICEP_DIR}/main.prod.bicepparam`) ?? '')) problems.push(`main.prod.bicepparam: ${parameter} is not read from ${name}`);
  }
  return problems;
}

/** Resource keys by kind, from databricks/resources/*.yml. */
export function bundleResources(repo: Repo): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [path, text] of repo) {
    if (!path.startsWith('databricks/resources/') || !path.endsWith('.yml')) continue;
    for (const [kind, items] of Object.entries((parseYaml(text) as { resources: Record<string, Record<string, unknown>> }).resources)) {
      (out[kind] ??= []).push(...Object.keys(items));
    }
  }
  return out;
}

/**
 * Names kept on both sides agree: each parameter file's catalog is its bundle target's catalog,
 * and the bundle pins the direct deployment engine that the workflows pin (hand deploys too).
 */
export function checkBundleAgreement(repo: Repo): string[] {
  const problems: string[] = [];
  const config = parseYaml(repo.get(BUNDLE) ?? '') as BundleConfig;
  for (const env of ENVIRONMENTS) {
    const text = repo.get(`${BICEP_DIR}/main.${env}.bicepparam`) ?? '';
    const set = /^param databricksCatalog = (.+)$/m.exec(text)?.[1];
    const catalog = set ? evaluate({ kind: 'expr', text: set.trim(), line: 0 }, () => undefined) : undefined;
    const bundleCatalog = config.targets?.[env]?.variables?.catalog;
    if (catalog !== bundleCatalog) problems.push(`main.${env}.bicepparam: databricksCatalog is ${String(catalog)}, the bundle's ${env} target uses ${String(bundleCatalog)}`);
  }
  if (config.bundle?.engine !== 'direct') problems.push(`${BUNDLE}: bundle.engine is not direct (external locations are direct-engine resources; the workflows pin direct)`);
  for (const { where, env } of bundleSteps(repo)) {
    if (env.DATABRICKS_BUNDLE_ENGINE !== undefined && env.DATABRICKS_BUNDLE_ENGINE !== config.bundle?.engine) problems.push(`${where}: DATABRICKS_BUNDLE_ENGINE ${env.DATABRICKS_BUNDLE_ENGINE} differs from bundle.engine`);
  }
  // The question box reads gold in the catalog infra passes to the app.
  const passed = at(decl(bicep(repo, MAIN), 'module', 'functionApp').value, 'params', 'databricksCatalog');
  if (passed?.kind !== 'expr' || passed.text !== 'databricksCatalog') problems.push(`${MAIN}: the Function App does not get the databricksCatalog parameter`);
  if (!body(decl(bicep(repo, FUNCTION_APP), 'var', 'appSettings').value).has('DATABRICKS_CATALOG')) problems.push(`${FUNCTION_APP}: DATABRICKS_CATALOG is not set`);
  return problems;
}
