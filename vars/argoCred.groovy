// argoCred: a block step of the argo-cred shared library. It gets and
// checks a credential for the Argo Workflows Server with argo-cred, then
// runs the body with the settings bound the way withCredentials binds a
// secret: for the body only, removed when it ends (success, failure or
// abort).
//
//   argoCred(server: 'argo.example.com:443', secret: 'jenkins-token',
//            namespace: 'ci', for: 'submit,wait') {
//     sh 'argo submit --wait -n "$ARGO_NAMESPACE" workflow.yaml'
//   }
//
// The token never enters this script: argo-cred writes it into a private
// directory under the build's temporary directory (WORKSPACE_TMP, mode
// 0700, files 0600), the body's environment gets the other ARGO_* settings
// (withEnv), and an `argo` first in the body's PATH runs the real argo CLI
// with the token only where argo runs (through argo-cred exec). Body steps that need the
// token in their shell source "$ARGO_CRED_ENV", which turns tracing off
// around its exports. Parameters and what they map to: docs/jenkins.md.

// call is the step without parameters: argo-cred's flags all come from the
// agent's environment (ARGO_CRED_SECRET, ARGO_SERVER, …).
def call(Closure body) {
    call([:], body)
}

// call is the step: argoCred(params) { body }.
def call(Map params, Closure body = null) {
    if (body == null) {
        error 'argoCred: give a body, argoCred(…) { sh \'argo …\' }: the credential lives only while it runs'
    }
    List<String> flags
    try {
        flags = argoCredFlags(params)
    } catch (IllegalArgumentException e) {
        error "argoCred: ${e.message}"
    }
    String tmp = env.WORKSPACE_TMP ?: pwd(tmp: true)
    String credDir = null
    try {
        withEnv(["ARGO_CRED_TMP=${tmp}"]) {
            credDir = sh(returnStdout: true, label: 'argoCred: private directory',
                script: 'mkdir -p "$ARGO_CRED_TMP" && umask 077 && mktemp -d "$ARGO_CRED_TMP/argo-cred-XXXXXXXX"').trim()
        }
        int rc
        withEnv(["ARGO_CRED_DIR=${credDir}", "ARGO_CRED_BIN=${params.binary ?: 'argo-cred'}"]) {
            rc = sh(returnStatus: true, label: 'argoCred: argo-cred env',
                script: 'set -- ' + shellQuote(flags) + '\n' + libraryResource('io/argocred/setup.sh'))
        }
        if (rc != 0) {
            error "argoCred: argo-cred exit ${rc} (${exitClass(rc)}): ${errorLine(readFile(credDir + '/stderr'))}"
        }
        List<String> bound = publicSettings(readFile(credDir + '/public.properties'))
        bound << "PATH+ARGO_CRED=${credDir}/bin" << "ARGO_CRED_ENV=${credDir}/argo.properties.sh"
        if (params.argo) {
            bound << "ARGO_CRED_ARGO=${params.argo}"
        }
        withEnv(bound) {
            body()
        }
    } finally {
        if (credDir) {
            withEnv(["ARGO_CRED_DIR=${credDir}"]) {
                if (sh(returnStatus: true, label: 'argoCred: clean up', script: 'rm -rf "$ARGO_CRED_DIR"') != 0) {
                    echo "argoCred: could not remove ${credDir}; it holds the token: remove it"
                }
            }
        }
    }
}

// argoCredFlags turns the step's parameters into argo-cred env's flags:
// only the names below, each to its flag, as --flag=value (a value cannot
// pass for a flag). Lists (a List or a comma-separated String; header: a
// List or one String) give one flag per item.
@NonCPS
static List<String> argoCredFlags(Map params) {
    Map<String, List> known = [
        source            : ['--source', 'string'],
        secret            : ['--secret', 'string'],
        client            : ['--client', 'string'],
        secretNamespace   : ['--secret-namespace', 'string'],
        serviceAccount    : ['--service-account', 'string'],
        duration          : ['--duration', 'string'],
        audience          : ['--audience', 'list'],
        tokenFile         : ['--token-file', 'string'],
        oidcEnv           : ['--oidc-env', 'string'],
        minLifetime       : ['--min-lifetime', 'string'],
        wait              : ['--wait', 'string'],
        kubeconfig        : ['--kubeconfig', 'string'],
        context           : ['--context', 'string'],
        namespace         : ['--namespace', 'string'],
        server            : ['--server', 'string'],
        http1             : ['--http1', 'bool'],
        secure            : ['--secure', 'bool'],
        insecureSkipVerify: ['--insecure-skip-verify', 'bool'],
        baseHref          : ['--base-href', 'string'],
        header            : ['--header', 'repeat'],
        caFile            : ['--ca-file', 'string'],
        expect            : ['--expect', 'list'],
        'for'             : ['--for', 'list'],
        forProfiles       : ['--for', 'list'],
        strict            : ['--strict', 'bool'],
        timeout           : ['--timeout', 'string'],
        skipIdentityCheck : ['--skip-identity-check', 'bool'],
        probe             : ['--probe', 'bool'],
        quiet             : ['--quiet', 'bool'],
        verbose           : ['--verbose', 'bool'],
    ]
    List<String> steps = ['binary', 'argo'] // the step's own
    List<String> flags = []
    params.each { k, v ->
        String name = k.toString()
        if (steps.contains(name)) {
            return
        }
        List spec = known[name]
        if (spec == null) {
            throw new IllegalArgumentException("unknown parameter ${name}; known: ${(known.keySet() + steps).join(', ')}")
        }
        String flag = spec[0]
        switch (spec[1]) {
            case 'bool':
                if (!(v instanceof Boolean)) {
                    throw new IllegalArgumentException("${name} is true or false, not ${v.getClass().simpleName}")
                }
                flags << "${flag}=${v}".toString()
                break
            case 'list':
            case 'repeat': // a String is one item: a header's value may hold commas
                List items = v instanceof Collection ? v as List : (spec[1] == 'list' ? v.toString().split(',') as List : [v])
                items.each { item ->
                    if (item.toString().trim()) {
                        flags << "${flag}=${item.toString().trim()}".toString()
                    }
                }
                break
            default:
                if (v instanceof Collection || v instanceof Map) {
                    throw new IllegalArgumentException("${name} is one value, not a ${v.getClass().simpleName}")
                }
                flags << "${flag}=${v}".toString()
        }
    }
    return flags
}

// shellQuote quotes each word for a POSIX shell, in single quotes.
@NonCPS
static String shellQuote(List<String> words) {
    return words.collect { "'" + it.replace("'", "'\\''") + "'" }.join(' ')
}

// errorLine is argo-cred's one error line (the last "error: " line of its
// stderr), or the last line when there is none (the shell's own, when
// argo-cred could not start).
@NonCPS
static String errorLine(String stderr) {
    List<String> lines = stderr.readLines().findAll { it.trim() }
    String line = lines.reverse().find { it.startsWith('error: ') } ?: (lines ? lines[-1] : 'argo-cred failed and printed nothing')
    return line.trim()
}

// exitClass names argo-cred's exit code as its --help does (README.md).
@NonCPS
static String exitClass(int rc) {
    Map<Integer, String> classes = [
        1  : 'unexpected error',
        2  : 'usage or configuration error',
        3  : 'token unavailable',
        4  : 'Argo Server unreachable',
        5  : 'token rejected',
        6  : 'missing access',
        7  : 'too much access',
        126: 'argo-cred not executable',
        127: 'argo-cred not found',
        130: 'interrupted',
    ]
    return classes[rc] ?: 'unknown exit code'
}

// publicSettings reads the properties argo-cred wrote, less the token's
// line (setup.sh drops it), as withEnv entries: only the names that are
// never secret, whatever else the file holds.
@NonCPS
static List<String> publicSettings(String properties) {
    Properties p = new Properties()
    p.load(new StringReader(properties))
    List<String> names = ['ARGO_SERVER', 'ARGO_NAMESPACE', 'ARGO_HTTP1', 'ARGO_SECURE', 'ARGO_INSECURE_SKIP_VERIFY', 'ARGO_BASE_HREF']
    return names.findAll { p.getProperty(it) != null }.collect { "${it}=${p.getProperty(it)}".toString() }
}
