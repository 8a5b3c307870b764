# Sourced by infra/run.sh and the Makefile's local commands: the settings the functions get from
# template.yaml in the cloud, for the local stack.
port=${VIGIE_AWS_PORT:-4566}
lambda_port=${VIGIE_LAMBDA_PORT:-9000}
# The functions' calls go through `vigie-local gateway` (the account's send quotas, client request
# tokens) in front of the emulator; the local tooling talks to the emulator itself.
gateway_port=${VIGIE_GATEWAY_PORT:-4567}
export VIGIE_GATEWAY_URL="http://127.0.0.1:${gateway_port}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-3
export AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
export VIGIE_AWS_ENDPOINT="$AWS_ENDPOINT_URL"
export VIGIE_LAMBDA_URL="http://127.0.0.1:${lambda_port}"
export VIGIE_TABLE_PREFIX=vigie
export MEMBERS_TABLE=vigie-MembersTable ALERTS_TABLE=vigie-AlertsTable LEDGER_TABLE=vigie-LedgerTable
# The shared number: a short code of AF2M's transactional 38xxx range, as a French town would
# have; alerts come from it too (SMS_ALERT_SENDER empty), so residents can answer them.
export SMS_SHARED_NUMBER="${SMS_SHARED_NUMBER:-38123}"
export SMS_ALERT_SENDER="${SMS_ALERT_SENDER:-}"
export SENDER_EMAIL="${SENDER_EMAIL:-alertes@vigie.example.org}"
export EMAIL_CONFIGURATION_SET="${EMAIL_CONFIGURATION_SET:-vigie-EmailConfigurationSet}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${lambda_port}/lambda-url/web}"
export RUST_LOG="${RUST_LOG:-info}"
