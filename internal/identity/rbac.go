package identity

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ProvisionerRBAC is what the identity that runs provision, rotate, revoke
// and clients needs in a namespace dedicated to Argo clients: a
// ServiceAccount, a Role for the objects it manages, and the verbs it may
// grant (every argoproj.io verb, and the core pods and pods/log verbs of the
// job profiles), which it holds itself (a ClusterRole bound in the
// namespace only). Without escalate or bind, Kubernetes lets it put into a
// client's Role only what it holds (RBAC's escalation check). RBAC cannot
// say whom it may bind, nor which Secrets it may write: a
// ValidatingAdmissionPolicy (Kubernetes 1.30+) holds every write of any
// namespace's argo-cred-provisioner to argo-cred's own shapes.
func ProvisionerRBAC(ns string) string {
	var core, grantable strings.Builder
	for _, r := range slices.Sorted(maps.Keys(CoreResources)) {
		fmt.Fprintf(&core, "- apiGroups: [\"\"]\n  resources: [%s]\n  verbs: [%s]\n", r, strings.Join(CoreResources[r], ", "))
	}
	for _, r := range Resources {
		fmt.Fprintf(&grantable, "  - %s\n", r)
	}
	return `# The identity that runs argo-cred provision, rotate, revoke and clients in
# namespace ` + ns + `, which must be dedicated to Argo clients and their
# workflows. What it can do, and no more: read every Secret of the namespace
# (each token Secret has a fresh name, so RBAC cannot narrow get);
# run workflows there as any ServiceAccount of the namespace, and list, watch
# and delete its pods and read their logs (it holds every verb it may grant:
# each argoproj.io verb, and the core ones of the job profiles, nothing
# wider); and write only argo-cred's own objects (the admission policy
# below): Roles with argoproj.io rules and those core rules only, each bound
# to its own client's ServiceAccount only, token Secrets of those
# ServiceAccounts and each client's copy of its current token
# (NAME-token-current), labelled ServiceAccounts, and each client's fetcher
# (NAME-fetcher: get on NAME-token-current, or create on NAME's
# serviceaccounts/token, and nothing else). It has neither escalate nor
# bind: Kubernetes refuses it a Role with '*', a binding to admin. It holds
# create on serviceaccounts/token only to grant it to a fetcher: the policy
# refuses every token it requests itself.
# Apply as a cluster admin (the ClusterRole, the policy and its binding are
# cluster-wide; the ClusterRole is bound in this namespace only):
#   argo-cred provision --print-rbac --namespace ` + ns + ` | kubectl apply -f -
# Without ValidatingAdmissionPolicy (Kubernetes before 1.30) the policy does
# not apply, and the identity can bind what it holds to anyone.
# env/exec/docker --bind needs, for the ServiceAccount it binds tokens of:
# create on serviceaccounts/token (resourceNames: that ServiceAccount) and
# create, get, delete on secrets; that, too, reaches every Secret of the
# namespace.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
rules:
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get, list, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, create, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: argo-cred-provisioner
subjects:
- kind: ServiceAccount
  name: argo-cred-provisioner
  namespace: ` + ns + `
---
# The verbs provision may grant: the core ones the job profiles use
# (docs/profiles.md), and every argoproj.io verb; bound in the namespace above.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: argo-cred-grantable
rules:
` + core.String() + `- apiGroups: [argoproj.io]
  resources:
` + grantable.String() + `  verbs: [` + strings.Join(Verbs, ", ") + `]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: argo-cred-provisioner-grantable
  namespace: ` + ns + `
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: argo-cred-grantable
subjects:
- kind: ServiceAccount
  name: argo-cred-provisioner
  namespace: ` + ns + `
` + provisionerPolicy()
}

// coreRuleCEL is the CEL condition a client Role's core rule r must meet:
// one of CoreResources, with some of exactly its verbs.
func coreRuleCEL() string {
	var alts []string
	for _, r := range slices.Sorted(maps.Keys(CoreResources)) {
		alts = append(alts, fmt.Sprintf(`(r.resources == ["%s"] && r.verbs.all(v, v in ["%s"]))`, r, strings.Join(CoreResources[r], `", "`)))
	}
	return `(r.apiGroups == [""] && (` + strings.Join(alts, " || ") + `))`
}

// coreGrants names CoreResources and their verbs for a message.
func coreGrants() string {
	var out []string
	for _, r := range slices.Sorted(maps.Keys(CoreResources)) {
		out = append(out, r+" "+strings.Join(CoreResources[r], ", "))
	}
	return strings.Join(out, "; ")
}

// provisionerPolicy holds the writes of every namespace's
// argo-cred-provisioner to argo-cred's own objects (CEL, evaluated by
// kube-apiserver on each create, update and delete).
func provisionerPolicy() string {
	return `---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: argo-cred-provisioner
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [secrets, serviceaccounts]
    - apiGroups: [""]
      apiVersions: ["*"]
      operations: [CREATE]
      resources: [serviceaccounts/token]
    - apiGroups: [rbac.authorization.k8s.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [roles, rolebindings]
  matchConditions:
  - name: by-a-provisioner
    expression: request.userInfo.username == "system:serviceaccount:" + request.namespace + ":argo-cred-provisioner"
  variables:
  - name: obj
    expression: 'request.operation == "DELETE" ? oldObject : object'
  - name: ours
    expression: >-
      variables.obj.metadata.?labels["app.kubernetes.io/managed-by"].orValue("") == "argo-cred" &&
      variables.obj.metadata.?labels["argo-cred/client"].orValue("") != ""
  - name: fetcher
    expression: >-
      variables.obj.metadata.?labels["argo-cred/fetcher"].orValue("") != "" &&
      variables.obj.metadata.name.startsWith(variables.obj.metadata.labels["argo-cred/client"] + "-fetcher")
  validations:
  - expression: '!has(request.subResource) || request.subResource != "token"'
    message: the provisioner requests no token; it holds create on serviceaccounts/token only to grant it to a client's fetcher
    reason: Forbidden
  - expression: variables.ours && (request.operation != "UPDATE" || oldObject.metadata.?labels["app.kubernetes.io/managed-by"].orValue("") == "argo-cred")
    message: the provisioner writes only objects argo-cred made (labelled app.kubernetes.io/managed-by=argo-cred and argo-cred/client)
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "roles" ||
      object.?rules.orValue([]).all(r, r.apiGroups == ["argoproj.io"] || ` + coreRuleCEL() + `) ||
      (variables.fetcher && object.metadata.name == object.metadata.labels["argo-cred/client"] + "-fetcher" && object.?rules.orValue([]).all(r,
        r.apiGroups == [""] && !r.resources.exists(x, x.contains("*")) && !r.verbs.exists(v, v == "*") &&
        ((r.resources == ["secrets"] && r.?resourceNames.orValue([]) == [object.metadata.labels["argo-cred/client"] + "-token-current"] && r.verbs.all(v, v in ["get", "watch"])) ||
         (r.resources == ["serviceaccounts/token"] && r.?resourceNames.orValue([]) == [object.metadata.labels["argo-cred/client"]] && r.verbs == ["create"]))))
    message: 'a client''s Role grants only argoproj.io verbs and the job profiles'' core ones (` + coreGrants() + `); its fetcher''s, get on its NAME-token-current or create on its serviceaccounts/token'
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "rolebindings" ||
      (object.roleRef.kind == "Role" && object.roleRef.name == object.metadata.name &&
       object.?subjects.orValue([]).size() == 1 && object.subjects[0].kind == "ServiceAccount" &&
       object.subjects[0].name == object.metadata.name && object.subjects[0].?namespace.orValue("") == request.namespace)
    message: the provisioner binds a client's own Role to that client's own ServiceAccount only
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "secrets" ||
      (object.?type.orValue("") == "kubernetes.io/service-account-token" ?
        object.metadata.?annotations["kubernetes.io/service-account.name"].orValue("") ==
          object.metadata.labels["argo-cred/client"] + (variables.fetcher ? "-fetcher" : "") :
        object.?type.orValue("") == "Opaque" && (object.metadata.?labels["argo-cred/binding"].orValue("") != "" ||
          (object.metadata.?labels["argo-cred/current-token"].orValue("") == "true" && object.metadata.name == object.metadata.labels["argo-cred/client"] + "-token-current")))
    message: the provisioner makes token Secrets of its clients' own ServiceAccounts only
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: argo-cred-provisioner
spec:
  policyName: argo-cred-provisioner
  validationActions: [Deny]
`
}
