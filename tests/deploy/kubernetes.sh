#!/usr/bin/env bash
# deploy/kubernetes/*.yaml: validated offline against the Kubernetes schemas, with unknown fields
# reported, plus issue 5's rules (k8s-validate/validate.cjs says how). The validator's packages
# come from k8s-validate/package-lock.json through `npm ci`, into the build directory (never the
# source tree); they are reinstalled only when the lock file changes. The token file comes from
# a Secret the Deployment references and the manifests do not ship. Broken copies of the
# manifests show the checks bite.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need node npm python3

pkg=$DEPLOY_SRC/tests/deploy/k8s-validate
tmp=$DEPLOY_TMP
cache=${LEINDEX_BUILD:-$tmp}/deploy-k8s-validate
if ! cmp -s "$pkg/package-lock.json" "$cache/package-lock.json" || [ ! -d "$cache/node_modules" ]; then
	rm -rf -- "$cache"
	mkdir -p "$cache"
	cp "$pkg/package.json" "$pkg/package-lock.json" "$cache/"
	(cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
		deploy_fail "npm ci of tests/deploy/k8s-validate failed"
fi

# The image's numeric USER, which the pod's runAsUser must equal.
uid=$(DEPLOY_TESTS=$DEPLOY_SRC/tests/deploy python3 -c '
import os, sys
sys.path.insert(0, os.environ["DEPLOY_TESTS"])
import dockerfile_parse as dp
print(dp.parse(sys.argv[1])[-1].last("USER").args.split(":")[0])' "$DEPLOY_SRC/Dockerfile") ||
	deploy_fail "cannot read USER from the Dockerfile"

validate() { node "$pkg/validate.cjs" "$cache/node_modules" "$uid" "$@"; }
validate "$DEPLOY_SRC"/deploy/kubernetes/*.yaml || deploy_fail "deploy/kubernetes does not validate"

# mutate NAME FILE SED-EXPR EXPECTED: a broken copy of the manifests must be rejected.
mutate() {
	rm -rf "$tmp/m" && cp -r "$DEPLOY_SRC/deploy/kubernetes" "$tmp/m"
	sed -E -i "$3" "$tmp/m/$2"
	cmp -s "$DEPLOY_SRC/deploy/kubernetes/$2" "$tmp/m/$2" && deploy_fail "mutation $1 changed nothing"
	local out
	out=$(validate "$tmp"/m/*.yaml) && deploy_fail "mutation $1 was accepted"
	grep -qF -- "$4" <<<"$out" || deploy_fail "mutation $1: expected '$4', got: $out"
	echo "ok: rejects $1"
}
mutate typo-field deployment.yaml 's/readOnlyRootFilesystem:/readOnlyRootFileSystem:/' "unknown field"
mutate bad-type deployment.yaml 's/replicas: 1/replicas: one/' "schema: /spec/replicas"
mutate bad-enum deployment.yaml 's/type: Recreate/type: Replace/' "schema: /spec/strategy/type"
mutate rolling deployment.yaml 's/type: Recreate/type: RollingUpdate/' "strategy must be Recreate"
mutate two-replicas deployment.yaml 's/replicas: 1/replicas: 2/' "replicas must be 1"
mutate root deployment.yaml 's/runAsUser: 10001/runAsUser: 0/' "runAsUser 0"
mutate escalation deployment.yaml 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/' "allowPrivilegeEscalation"
mutate liveness-path deployment.yaml '/livenessProbe:/,/path:/s#path: /healthz#path: /readyz#' "livenessProbe probes /readyz"
mutate no-limits deployment.yaml '/^            limits:/,/^              memory: 1Gi/d' "resources.limits.cpu missing"
mutate rwx pvc.yaml 's/ReadWriteOnce/ReadWriteMany/' "accessModes must be [ReadWriteOnce]"
mutate writable-scan deployment.yaml '/mountPath: \/scan/{n;s/readOnly: true/readOnly: false/}' "not mounted readOnly"
mutate service-selector service.yaml 's#app.kubernetes.io/name: leindexd#app.kubernetes.io/name: other#' "selector matches no pod"
mutate old-api deployment.yaml 's#apiVersion: apps/v1#apiVersion: extensions/v1beta1#' "not served by Kubernetes 1.25"
mutate unknown-kind service.yaml 's/kind: Service/kind: Servce/' "no schema for v1 Servce"
# Access control: tokens from a Secret the manifests reference and do not ship.
mutate no-token-file deployment.yaml '/- name: LEINDEX_TOKEN_FILE/,/value: \/run\/secrets/d' "LEINDEX_TOKEN_FILE is not set"
mutate token-file-elsewhere deployment.yaml 's#value: /run/secrets/leindexd/tokens#value: /data/tokens#' "is not in a Secret volume"
mutate token-subpath deployment.yaml 's#^( +)mountPath: /run/secrets/leindexd$#\1mountPath: /run/secrets/leindexd/tokens\n\1subPath: tokens#' "mounted with subPath"
mutate token-writable deployment.yaml '/mountPath: \/run\/secrets\/leindexd/{n;s/readOnly: true/readOnly: false/}' "is not mounted readOnly"
mutate token-optional deployment.yaml 's/optional: false/optional: true/' "is optional"
mutate token-item deployment.yaml 's#^( +)path: tokens$#\1path: tokens.txt#' "no item of Secret leindexd-tokens lands at tokens"
# shellcheck disable=SC2016 # sed's $ (the last line), not the shell's
mutate shipped-secret service.yaml '$a ---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leindexd-tokens\nstringData:\n  tokens: ""' "ships the token Secret"
mutate insecure deployment.yaml 's#^( +)image: leindexd:(.*)$#&\n\1args: ["--insecure-no-auth"]#' "passes --insecure-no-auth"
deploy_auth_bypass || deploy_fail "deploy/ turns access control off or ships a token (lines above)"
echo "ok: deploy/ ships no token and never passes --insecure-no-auth"
echo "kubernetes: all checks passed"
