# vigie: `make run` starts everything locally with demo data; `make test` runs every test.
# Both install what they need into the project (Python venvs with pinned tools) and are idempotent.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
RUN_VENV := .venv-run
API_VENV := .venv-api
SAM_VENV := .venv-sam
export CARGO_TERM_COLOR ?= never
# moto with one DynamoDB request at a time (infra/moto/moto_server.py: why).
export VIGIE_MOTO_SERVER := $(CURDIR)/infra/moto/moto_server

LOCAL := target/debug/vigie-local

.PHONY: help venv browser run-tools build test checks-then-tests test-rust lint check-template package preflight run sms receipt outbox night clean fuzz soak

help:
	@echo "make run     start vigie locally (emulated AWS, demo data) and print where to open it"
	@echo "make test    run every test (format, lint, unit, integration, template checks, sam build)"
	@echo "make preflight   check an AWS account is ready for a deploy (read-only; PREFLIGHT_ARGS=\"--profile P --members N\")"
	@echo "make package sam build of template.yaml: the deploy artifact in .aws-sam/build"
	@echo "make sms FROM=<number> TEXT=<text>   text the shared number, 38123 in the demo (needs make run)"
	@echo "make receipt ID=<message id> EVENT=<event>   what became of a message (bounce, complaint, delivery... / delivered, failed)"
	@echo "make outbox  list the SMS and emails the emulator captured (needs make run)"
	@echo "make night   put the demo community on a clock where it is night now, to watch quiet hours (needs make run)"
	@echo "make soak    the fault, duplicate and crash tests, longer (VIGIE_SOAK_MEMBERS, VIGIE_SOAK_ROUNDS...)"

$(VENV)/.installed: infra/requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-test.txt
	touch $@

venv: $(VENV)/.installed

$(RUN_VENV)/.installed: infra/requirements-run.txt
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-run.txt
	touch $@

run-tools: venv $(RUN_VENV)/.installed

# schemathesis for tests/it/web/web_schemathesis.rs, apart: its pins must not move moto's.
$(API_VENV)/.installed: infra/requirements-api.txt
	$(PYTHON) -m venv $(API_VENV)
	$(API_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-api.txt
	touch $@

# aws-sam-cli apart: it pins an older boto3 than moto's (docs/deploy.md, Prerequisites).
$(SAM_VENV)/.installed: infra/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

build:
	cargo build --workspace --bins

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

check-template: venv
	$(VENV)/bin/python infra/check_template.py template.yaml
	$(VENV)/bin/python -m unittest discover -s infra -p 'test_*.py'

# The deploy artifact, as `sam deploy` would upload it: sam build of the real template (each
# function's `cargo lambda build --release --arm64`, zig from .venv-run, no container), then a
# check that every function has an arm64 bootstrap. CI runs it in make test.
SAM_BUILD_DIR := .aws-sam/build
package: venv $(SAM_VENV)/.installed $(RUN_VENV)/.installed
	@set -e; start=$$(date +%s); \
	PATH="$(CURDIR)/$(RUN_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
		$(SAM_VENV)/bin/sam build --template-file template.yaml --build-dir $(SAM_BUILD_DIR); \
	$(VENV)/bin/python infra/check_package.py $(SAM_BUILD_DIR); \
	echo "make package: $$(( $$(date +%s) - start )) s"

# Read-only checklist of what a deploy needs in an AWS account (infra/preflight.py; docs/deploy.md).
# PREFLIGHT_ARGS passes options: --profile, --region, --stack-name, --param NAME=VALUE, --members N.
preflight: venv
	@$(VENV)/bin/python infra/preflight.py $(PREFLIGHT_ARGS)

# Debian's Chromium and ChromeDriver for the browser tests (tests/it/browser/); a no-op
# when they are there. VIGIE_SCREENSHOTS=1 make test-rust also refreshes docs/screenshots/.
browser:
	@infra/install-chromium.sh

test-rust: venv $(API_VENV)/.installed browser
	cargo test --workspace

# The checks and tests on one side, the deploy artifact on the other, from the start: the
# release build fills what the others leave of the two cores (the template checks run on one,
# the integration tests spend much of their time waiting on the emulator, leases and send
# quotas). Each side's output is printed whole when it ends (--output-sync).
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target checks-then-tests package

checks-then-tests: lint check-template
	@$(MAKE) --no-print-directory test-rust

run: run-tools build
	@infra/run.sh

sms:
	@test -n "$(FROM)" -a -n "$(TEXT)" || { echo 'usage: make sms FROM=<number> TEXT="<text>"'; exit 2; }
	@. infra/local-env.sh && $(LOCAL) sms --from "$(FROM)" --text "$(TEXT)"

# What SES or SNS would report about a message of `make outbox`: EVENT is delivery, bounce,
# soft-bounce, complaint, reject, send or delay for an email, delivered or failed (REASON=...) for
# an SMS. The emulator sends no receipts itself.
receipt:
	@test -n "$(ID)" -a -n "$(EVENT)" || { echo 'usage: make receipt ID=<message id> EVENT=<event> [REASON="Invalid phone number"]'; exit 2; }
	@. infra/local-env.sh && $(LOCAL) receipt --id "$(ID)" --event "$(EVENT)" $(if $(REASON),--reason "$(REASON)")

outbox:
	@. infra/local-env.sh && $(LOCAL) outbox

# Quiet hours by day: puts a community (COMMUNITY, default les-tilleuls) on a clock where it is
# night now, or on ZONE (ZONE=Europe/Paris puts the demo back).
night:
	@. infra/local-env.sh && $(LOCAL) night $(COMMUNITY) $(if $(ZONE),--zone "$(ZONE)")

clean:
	rm -rf $(VENV) $(RUN_VENV) $(API_VENV) $(SAM_VENV) .local .aws-sam
	cargo clean

# make bench: cold start, fan-out throughput, memory, SMS cost and size of the functions (issue 4).
# Builds the release binaries for this host, checks the emulator patch (bench/moto), then runs
# vigie-bench: it measures, runs `cargo lambda build --release --arm64` in the background of the
# memory part (for the size part), prints the table and writes docs/benchmarks.md.
# BENCH_ARGS passes options through, e.g. BENCH_ARGS="--sms-price 0.08 --runs 50".
BENCH_TARGET := $(or $(CARGO_TARGET_DIR),target)
.PHONY: bench
bench: run-tools
	@set -e; start=$$(date +%s); \
	cargo build --release -p web -p inbound-sms -p fan-out -p vigie-bench; \
	built=$$(date +%s); \
	$(VENV)/bin/python -m unittest discover -s bench/moto -p 'test_*.py'; \
	$(BENCH_TARGET)/release/vigie-bench --host-build-secs $$((built - start)) --build-arm64 $(BENCH_ARGS); \
	echo "make bench: $$(( $$(date +%s) - start )) s (builds included, tool installs not)"

# make fuzz: each cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 60); not part of make test.
fuzz:
	@infra/fuzz.sh

# make soak: the fault, duplicate and crash scenarios of the tests, longer (tests/tests/soak.rs,
# ignored by make test): VIGIE_SOAK_ROUNDS rounds (3) of a community of VIGIE_SOAK_MEMBERS
# (2,000), VIGIE_SOAK_FAULT_RATE of the AWS calls failed (0.2), each SNS event and stream batch
# delivered VIGIE_SOAK_DELIVERIES times (3); prints the totals. On bench/moto/moto_server, moto
# without the costs that grow with a table's size (plain moto copies the whole table for each
# item of a transaction), checked against plain moto first. Not part of make test.
soak: venv
	@set -e; start=$$(date +%s); \
	$(VENV)/bin/python -m unittest discover -s bench/moto -p 'test_*.py'; \
	VIGIE_MOTO_SERVER=$(CURDIR)/bench/moto/moto_server \
		cargo test -p vigie-tests --test soak -- --ignored --nocapture --test-threads=1; \
	echo "make soak: $$(( $$(date +%s) - start )) s (build included)"
