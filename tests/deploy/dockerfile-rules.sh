#!/usr/bin/env bash
# The Dockerfile keeps issue 5's rules (multi-stage bookworm-slim, tests in the build stage,
# numeric USER, exec-form ENTRYPOINT, HEALTHCHECK through `leindexd health`, ...). No Docker
# engine or hadolint here, so tests/deploy/dockerfile_rules.py checks the parsed file; this script
# runs it on the real Dockerfile, then on broken copies to show each rule actually bites.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need python3

rules="$DEPLOY_SRC/tests/deploy/dockerfile_rules.py"
python3 "$rules" "$DEPLOY_SRC/Dockerfile" "$DEPLOY_SRC/.dockerignore" ||
	deploy_fail "Dockerfile breaks the rules above"
echo "ok: Dockerfile keeps every rule"

tmp=$DEPLOY_TMP
# mutate NAME SED-EXPR EXPECTED-MESSAGE: the checker must reject the edited copy with that message.
mutate() {
	sed -E "$2" "$DEPLOY_SRC/Dockerfile" >"$tmp/$1"
	cmp -s "$DEPLOY_SRC/Dockerfile" "$tmp/$1" && deploy_fail "mutation $1 changed nothing (sed: $2)"
	local out
	if out=$(python3 "$rules" "$tmp/$1"); then
		deploy_fail "mutation $1 was accepted"
	fi
	grep -qF -- "$3" <<<"$out" || deploy_fail "mutation $1: expected '$3', got: $out"
	echo "ok: rejects $1"
}
# accept NAME SED-EXPR: the checker must accept the edited copy (another spelling of the rule).
accept() {
	sed -E "$2" "$DEPLOY_SRC/Dockerfile" >"$tmp/$1"
	cmp -s "$DEPLOY_SRC/Dockerfile" "$tmp/$1" && deploy_fail "variant $1 changed nothing (sed: $2)"
	local out
	out=$(python3 "$rules" "$tmp/$1") || deploy_fail "variant $1 was rejected: $out"
	echo "ok: accepts $1"
}
mutate shell-entrypoint 's#^ENTRYPOINT .*#ENTRYPOINT /usr/local/bin/leindexd#' "ENTRYPOINT is in shell form"
mutate named-user 's#^USER .*#USER leindexd#' "must be numeric"
mutate root-user 's#^USER .*#USER 0#' "USER 0 is root"
mutate no-user '/^USER /d' "has no USER"
mutate single-stage '/^FROM .* AS build/,/^FROM .* AS runtime/{/^FROM .* AS runtime/!d}' "multi-stage"
mutate other-base 's#^FROM debian:bookworm-slim AS runtime#FROM ubuntu:24.04 AS runtime#' "every stage starts from"
mutate no-tests 's#ctest #true #' "does not run the test suite"
mutate recommends '0,/--no-install-recommends/!{s#--no-install-recommends##}' "without --no-install-recommends"
mutate apt-lists-kept 's#&& rm -rf /var/lib/apt/lists/\*#\&\& true#' "apt lists not removed"
mutate dev-in-runtime 's#libmicrohttpd12#libmicrohttpd12 libmicrohttpd-dev#' "build-only package libmicrohttpd-dev"
mutate no-libgit2 's# libgit2-1.5 # #' "runtime stage lacks libgit2-1.5"
mutate no-expose '/^EXPOSE /d' "EXPOSE 8080"
mutate no-volume '/^VOLUME /d' "not declared a VOLUME"
mutate no-chown 's#chown 10001:10001 /data#true#' "chowns /data"
mutate loopback-listen 's#LEINDEX_LISTEN=0.0.0.0:8080#LEINDEX_LISTEN=127.0.0.1:8080#' "LEINDEX_LISTEN"
mutate no-scan-root 's#LEINDEX_ALLOWED_ROOTS=/scan#LEINDEX_ALLOWED_ROOTS=/srv#' "/scan"
# Access control: the image points at a token file it does not ship, and never serves without.
mutate no-token-file '/^    LEINDEX_TOKEN_FILE=/d' "LEINDEX_TOKEN_FILE is ''"
mutate token-in-data 's#LEINDEX_TOKEN_FILE=/run/secrets/leindexd-tokens#LEINDEX_TOKEN_FILE=/data/tokens#' "want a file under /run/secrets/"
mutate insecure-entrypoint 's#^ENTRYPOINT \["/usr/local/bin/leindexd"\]#ENTRYPOINT ["/usr/local/bin/leindexd", "--insecure-no-auth"]#' "passes --insecure-no-auth"
# shellcheck disable=SC2016 # sed's $ (the last line), not the shell's
mutate insecure-cmd '$a CMD ["--insecure-no-auth"]' "CMD passes --insecure-no-auth"
mutate shipped-token '/^COPY --from=build /a COPY --from=build /src/tests/tokens /run/secrets/leindexd-tokens' "ships a token file"
mutate shipped-token-dir '/^COPY --from=build /a COPY --from=build /src/tests/secrets/ /run/secrets/' "ships a token file"
mutate written-token 's#chmod 0750 /data#chmod 0750 /data \&\& echo "ci write sha256:00" >/run/secrets/leindexd-tokens#' "RUN writes under /run/secrets/"
mutate no-stopsignal '/^STOPSIGNAL /d' "STOPSIGNAL SIGTERM"
mutate curl-healthcheck 's#CMD \["/usr/local/bin/leindexd", "health"\]#CMD curl -f http://localhost:8080/healthz#' "curl"
mutate no-healthcheck '/^HEALTHCHECK/,/^  CMD/d' "no HEALTHCHECK"
mutate swallowed "s#--label-exclude 'deploy\\|sanitize\\|e2e\\|fuzz\\|fault'#--label-exclude deploy || true#" "swallows a failure"
# The build stage's ctest commands leave out the deploy, sanitize, e2e, fuzz and fault labels;
# the unit tests and (some) integration tests run there.
mutate runs-e2e "s#\\|e2e##" "does not leave out label e2e"
mutate runs-fuzz "s#\\|fuzz##" "does not leave out label fuzz"
mutate runs-fault "s#\\|fault'#'#" "does not leave out label fault"
mutate runs-sanitize "s#sanitize\\|##" "does not leave out label sanitize"
mutate runs-every-label '/--label-exclude /d' "without --label-exclude"
mutate skips-unit "s#--label-exclude '#--label-exclude 'unit|#" "leaves out the unit tests"
mutate skips-integration "s#\\|fault'#|fault|integ'#" "leaves out the integration tests"
accept short-option "s#--label-exclude '#-LE '#"
accept reordered "s#'deploy\\|sanitize\\|e2e\\|fuzz\\|fault'#'^(fault|fuzz|e2e|sanitize|deploy)\$'#"
mutate add 's#^COPY \. /src#ADD . /src#' "use COPY"
echo "dockerfile-rules: all checks passed"
