/**
 * The Databricks bundle as the workflows deploy it: required variables, values from the Bicep
 * deployment, ids back into the second pass, names that must agree. Each check runs on the real
 * files (no problem) and on a copy with one mistake (the problem is reported).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE,
  bundleSteps,
  checkBundleAgreement,
  checkBundleVariables,
  checkDeploymentInputs,
  checkFunctionClientId,
  DEPLOY_ENVIRONMENT,
  REQUIRE_VARS_SCRIPT,
  requiredBundleVariables,
} from './bundleWiring.js';
import type { Repo } from './checks.js';
import { altered, FUNCTION_APP, loadRepo, MAIN, once, REPO_ROOT } from './checks.js';

const repo: Repo = loadRepo();
const CI = '.github/workflows/ci.yml';


describe('bundle variables in the workflows', () => {
  it('reads the required variables from databricks.yml: no default and not set by every target', () => {
    expect(requiredBundleVariables(repo).sort()).toEqual(['analysts_group', 'bi_group', 'data_engineers_group', 'function_app_application_id', 'storage_account']);
    // catalog has no default but both targets set it; a target that stops setting it makes it required.
    const noDevCatalog = altered(repo, BUNDLE, once('      catalog: soundlake_dev\n', ''));
    expect(requiredBundleVariables(noDevCatalog)).toContain('catalog');
    // Both workflows run bundle commands: CI validates, deploy validates, deploys and reads the summary.
    expect(bundleSteps(repo).map((s) => s.where.split(' ')[0]).sort()).toEqual(['ci.yml', 'deploy-environment.yml']);
  });

  it('every bundle command gets every required variable: groups from GitHub variables, ids and names from the deployment outputs', () => {
    expect(checkBundleVariables(repo)).toEqual([]);

    const noBiInDeploy = altered(repo, DEPLOY_ENVIRONMENT, once(/^ {10}BUNDLE_VAR_bi_group: .*\n/m, ''));
    expect(checkBundleVariables(noBiInDeploy)).toEqual([expect.stringMatching(/^deploy-environment\.yml deploy .*bundle variable bi_group is not given/)]);
    const noAnalystsInCi = altered(repo, CI, once(/^ {10}BUNDLE_VAR_analysts_group: .*\n/m, ''));
    expect(checkBundleVariables(noAnalystsInCi)).toEqual([expect.stringMatching(/^ci\.yml bundle .*bundle variable analysts_group is not given/)]);

    // A variable the bundle gains is caught in both workflows until they pass it.
    const newVar = altered(repo, BUNDLE, once('  bi_group:\n', '  ops_group:\n    description: Ops.\n  bi_group:\n'));
    expect(checkBundleVariables(newVar)).toEqual([expect.stringMatching(/^ci\.yml .*ops_group is not given/), expect.stringMatching(/^deploy-environment\.yml .*ops_group is not given/)]);

    // A group name hard-coded in the workflow instead of the environment's GitHub variable.
    const literal = altered(repo, DEPLOY_ENVIRONMENT, once(/^( {10}BUNDLE_VAR_data_engineers_group: ).*$/m, '$1soundlake-data-engineers'));
    expect(checkBundleVariables(literal)).toEqual([expect.stringContaining('BUNDLE_VAR_data_engineers_group does not come from the GitHub environment variable SOUNDLAKE_DATA_ENGINEERS_GROUP')]);

    // The application id must be the identity's client id output, not its object (principal) id.
    const objectId = altered(repo, DEPLOY_ENVIRONMENT, once('.functionClientId.value', '.functionPrincipalId.value'));
    expect(checkBundleVariables(objectId)).toEqual([expect.stringContaining('BUNDLE_VAR_function_app_application_id does not come from the deployment output functionClientId')]);
    const noOutput = altered(repo, MAIN, once(/^output functionClientId string = .*$/m, ''));
    expect(checkBundleVariables(noOutput)).toEqual(expect.arrayContaining([expect.stringContaining('no output functionClientId')]));

    // Without the empty-value check, an unset GitHub variable reaches the CLI as "".
    const unchecked = altered(repo, DEPLOY_ENVIRONMENT, once(/^ {10}bash \.\.\/\.github\/scripts\/require-bundle-vars\.sh\n/m, ''));
    expect(checkBundleVariables(unchecked)).toEqual([expect.stringContaining('does not run .github/scripts/require-bundle-vars.sh before its bundle commands')]);
  });

  it('require-bundle-vars.sh fails on an empty or blank variable, naming it and where it comes from, and passes when all are set', () => {
    const script = join(REPO_ROOT, REQUIRE_VARS_SCRIPT);
    const run = (env: Record<string, string>) => spawnSync('bash', [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });

    const ok = run({ BUNDLE_VAR_bi_group: 'soundlake-bi-dev', BUNDLE_VAR_storage_account: 'stsoundlakelakedev1a2b3' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('bundle variables: 2 set');

    const unset = run({ BUNDLE_VAR_bi_group: '', BUNDLE_VAR_analysts_group: '  ', BUNDLE_VAR_function_app_application_id: '', BUNDLE_VAR_storage_account: 'stsoundlakelakedev1a2b3' });
    expect(unset.status).toBe(1);
    const errors = unset.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(3);
    expect(unset.stdout).toContain('BUNDLE_VAR_bi_group is empty; it is set by the GitHub environment variable SOUNDLAKE_BI_GROUP');
    expect(unset.stdout).toContain('BUNDLE_VAR_analysts_group is empty; it is set by the GitHub environment variable SOUNDLAKE_ANALYSTS_GROUP');
    expect(unset.stdout).toContain("BUNDLE_VAR_function_app_application_id is empty; it is set by the workflow, from the Bicep deployment's outputs");
    expect(unset.stdout).not.toContain('storage_account is empty');

    expect(run({}).status).toBe(1);
  });
});

describe('values from the Bicep deployment', () => {
  it("the Function App's application id is read in Bicep from its system-assigned identity resource, and output", () => {
    expect(checkFunctionClientId(repo)).toEqual([]);
    const wrongName = altered(repo, FUNCTION_APP, once(/(resource siteIdentity [^\n]*\n {2}scope: site\n {2}name: )'default'/, "$1'current'"));
    expect(checkFunctionClientId(wrongName)).toEqual([expect.stringContaining("named 'default'")]);
    const unscoped = altered(repo, FUNCTION_APP, once(/(resource siteIdentity [^\n]*\n) {2}scope: site\n/, '$1'));
    expect(checkFunctionClientId(unscoped)).toEqual([expect.stringContaining('not scoped to the site')]);
    const objectId = altered(repo, FUNCTION_APP, once('output clientId string = siteIdentity.properties.clientId', 'output clientId string = siteIdentity.properties.principalId'));
    expect(checkFunctionClientId(objectId)).toEqual([expect.stringContaining('output clientId is not siteIdentity.properties.clientId')]);
    const preview = altered(repo, FUNCTION_APP, once("'Microsoft.ManagedIdentity/identities@2024-11-30'", "'Microsoft.ManagedIdentity/identities@2025-01-31-preview'"));
    expect(checkFunctionClientId(preview)).toEqual([expect.stringContaining('not the stable version checked to have it')]);
  });

  it("each parameter file's environment variable is set for both passes; the bundle's job and warehouse ids reach the second pass and survive the first", () => {
    expect(checkDeploymentInputs(repo)).toEqual([]);
    const noWarehouse = altered(repo, DEPLOY_ENVIRONMENT, once(/^ {10}SOUNDLAKE_SQL_WAREHOUSE_ID: .*\n/m, ''));
    expect(checkDeploymentInputs(noWarehouse)).toEqual([
      expect.stringContaining('"Infrastructure (second pass)": SOUNDLAKE_SQL_WAREHOUSE_ID (read by a parameter file) is not set'),
      expect.stringContaining('the second pass does not take SOUNDLAKE_SQL_WAREHOUSE_ID from the bundle step'),
    ]);
    const noSummary = altered(repo, DEPLOY_ENVIRONMENT, once('.resources.sql_warehouses.serving.id', '.resources.sql_warehouses.bi.id'));
    expect(checkDeploymentInputs(noSummary)).toEqual(expect.arrayContaining([expect.stringContaining('does not output .resources.sql_warehouses.serving.id')]));
    const forgets = altered(repo, DEPLOY_ENVIRONMENT, once(/^ {10}SOUNDLAKE_SQL_WAREHOUSE_ID="\$\(jq .*\n/m, ''));
    expect(checkDeploymentInputs(forgets)).toEqual([expect.stringContaining("the first pass does not keep the last deployment's sqlWarehouseId")]);
    const noLlmVariable = altered(repo, DEPLOY_ENVIRONMENT, once(/^ {6}SOUNDLAKE_ASK_LLM_MODEL: .*\n/m, ''));
    expect(checkDeploymentInputs(noLlmVariable)).toHaveLength(2); // both passes
  });

  it("each environment's catalog is its bundle target's, and the bundle pins the engine the workflows pin", () => {
    expect(checkBundleAgreement(repo)).toEqual([]);
    const drift = altered(repo, 'infra/bicep/main.dev.bicepparam', once("param databricksCatalog = 'soundlake_dev'", "param databricksCatalog = 'soundlake'"));
    expect(checkBundleAgreement(drift)).toEqual(['main.dev.bicepparam: databricksCatalog is soundlake, the bundle\'s dev target uses soundlake_dev']);
    const terraform = altered(repo, BUNDLE, once('  engine: direct\n', '  engine: terraform\n'));
    expect(checkBundleAgreement(terraform)).toEqual(expect.arrayContaining([`${BUNDLE}: bundle.engine is not direct (external locations are direct-engine resources; the workflows pin direct)`, expect.stringContaining('DATABRICKS_BUNDLE_ENGINE direct differs from bundle.engine')]));
  });
});
