#!/usr/bin/env bash
# Run before `databricks bundle validate/deploy` in the workflows: every bundle variable the step
# passes as BUNDLE_VAR_<name> must have a value (not empty, not blank). The CLI itself stops on a variable that is not
# passed at all ("no value assigned to required variable ..."), but a GitHub variable that is not
# set arrives as an empty string, which the CLI accepts, and the deploy would then fail halfway, at
# its first grant to a principal named "". This names each empty one and where its value comes
# from, and fails before anything is changed.
set -euo pipefail

empty=0
checked=0
for name in $(compgen -v BUNDLE_VAR_ || true); do
  checked=$((checked + 1))
  if [ -z "${!name//[[:space:]]/}" ]; then
    var="${name#BUNDLE_VAR_}"
    case "$var" in
      *_group) from="the GitHub environment variable SOUNDLAKE_${var^^} (an account group name)" ;;
      *) from="the workflow, from the Bicep deployment's outputs (a deployment from before this workflow? rerun it)" ;;
    esac
    echo "::error title=bundle variable ${var} is empty::${name} is empty; it is set by ${from}. See infra/README.md, From GitHub."
    empty=$((empty + 1))
  fi
done

if [ "$checked" -eq 0 ]; then
  echo "::error title=no bundle variables::no BUNDLE_VAR_* is set; the bundle has required variables (databricks/databricks.yml)"
  exit 1
fi
if [ "$empty" -gt 0 ]; then
  exit 1
fi
echo "bundle variables: ${checked} set"
