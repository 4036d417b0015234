#!/usr/bin/env bash
# -DskipTests and -Dmaven.test.skip must reach every test execution of pom.xml: the default surefire
# execution, the scalar-loops surefire execution and the ctest (C++ harness) execution. bin/gradclip and
# demo/run build with -DskipTests; before this check, the scalar-loops execution ignored it and the first
# run spent minutes in the test suite. Runs the two test executions directly (nothing is compiled).
# Usage: scripts/check-skip-tests.sh [extra maven args, e.g. -o]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
for flag in -DskipTests -Dmaven.test.skip=true -Dmaven.test.skip; do
    log=$(mvn -B -Dstyle.color=never "$@" "$flag" -Dtest=NoSuchTestForSkipCheck -Dsurefire.failIfNoSpecifiedTests=false \
          surefire:test@default-test surefire:test@scalar-loops exec:exec@ctest 2>&1) || { echo "$log" >&2; exit 1; }
    skipped=$(grep -c 'Tests are skipped' <<< "$log" || true)
    ctest=$(grep -c 'skipping execute as per configuration' <<< "$log" || true)
    if [ "$skipped" -ne 2 ] || [ "$ctest" -ne 1 ] || grep -q -e 'Tests run:' -e 'No tests to run' -e 'Test project' <<< "$log"; then
        echo "FAIL: $flag does not skip every test execution (surefire skipped: $skipped of 2, ctest skipped: $ctest of 1)" >&2
        status=1
    else
        echo "ok: $flag skips the surefire executions default-test and scalar-loops, and ctest"
    fi
done
exit $status
