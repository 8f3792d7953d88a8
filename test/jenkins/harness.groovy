// A small Jenkins Pipeline harness for Debian's Groovy 2.4 (Jenkins' CPS
// dialect): it runs a Jenkinsfile (declarative or scripted) with the shared
// library at --library loaded as Jenkins loads one from a repository root
// (vars/NAME.groovy a script whose call(…) is the step NAME,
// libraryResource from resources/), and runs every sh step for real, as
// durable-task does: the script written to a file under WORKSPACE@tmp and
// run with `sh -xe` (directly when it starts with #!), in the workspace,
// with the build's environment and withEnv's, its process tree killed on
// abort.
//
//   groovy harness.groovy --library DIR --workspace DIR --jenkinsfile FILE
//       [--credential ID=file:PATH|ID=string:VALUE]… [--abort-file FILE]
//       [--raw-log FILE] [--sh 'SHELL [ARG]']
//
// The console (stdout) is filtered as credentials-binding filters it: each
// value bound by withCredentials, and its base64 forms, is shown as ****.
// --raw-log gets the same lines unfiltered, to prove that nothing needed
// masking. Creating --abort-file aborts the build as one click of Jenkins'
// abort button does: the running sh step's processes are killed and a
// FlowInterruptedException is thrown into the program, once (a finally
// block's steps then run). The last line is
// "Finished: SUCCESS|FAILURE|ABORTED"; the exit code is 0, 1 or 2.
//
// Not modelled: CPS (continuation passing, serialization of the program
// and its resumption after a restart), the script security sandbox and
// script approval (a library from Global Pipeline Libraries is trusted and
// runs outside it), durable-task's log streaming and heartbeat, agents and
// nodes, and the declarative model's validation.

import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

// hudson.AbortException: what error throws; the build fails.
class AbortException extends IOException {
    AbortException(String m) { super(m) }
}

// org.jenkinsci.plugins.workflow.steps.FlowInterruptedException: what an
// abort throws into the program; the build is ABORTED.
class FlowInterruptedException extends InterruptedException {
    FlowInterruptedException() { super('aborted') }
}

// The build: its environment, console, credentials, library.
class Run {
    static File library, workspace, abortFile
    static PrintStream raw
    static Map<String, Map> credentials = [:]
    static Map<String, String> env = [:]        // the build's (env.X = …, environment {})
    static List<List<String>> withEnvs = []      // withEnv's stack
    static List<String> masked = []              // credentials-binding's patterns
    static Map<String, Object> vars = [:]        // the library's steps, one instance each
    static String cwd
    static List<String> shell = ['sh'] // the agent's sh
    static int rand = 0

    static synchronized void log(String line) {
        raw?.println(line)
        raw?.flush()
        String shown = line
        masked.sort { -it.length() }.each { shown = shown.replace(it, '****') }
        System.out.println(shown)
        System.out.flush()
    }

    // The sh step's environment: the process's, the build's, then withEnv's
    // entries in order (PATH+NAME=dir prepends to PATH, as Jenkins does).
    static Map<String, String> shellEnv() {
        Map<String, String> e = new LinkedHashMap<>(System.getenv())
        e.putAll(env)
        withEnvs.each { entries ->
            entries.each { entry ->
                int eq = entry.indexOf('=')
                String k = entry.substring(0, eq), v = entry.substring(eq + 1)
                if (k.contains('+')) {
                    String base = k.substring(0, k.indexOf('+'))
                    e[base] = e[base] ? v + File.pathSeparator + e[base] : v
                } else {
                    e[k] = v
                }
            }
        }
        return e
    }

    // masks registers a secret as credentials-binding's SecretPatterns do:
    // the value and its base64 forms (standard and URL-safe, each of the 3
    // alignments, with and without padding).
    static void mask(String secret) {
        if (!secret) return
        masked << secret
        byte[] b = secret.getBytes('UTF-8')
        [Base64.encoder, Base64.urlEncoder].each { enc ->
            (0..2).each { shift ->
                byte[] shifted = new byte[shift + b.length]
                System.arraycopy(b, 0, shifted, shift, b.length)
                String s = enc.encodeToString(shifted)
                int drop = shift == 0 ? 0 : shift + 1
                String core = s.substring(drop).replaceAll('=+$', '')
                masked << core
                if (core.length() > 2) masked << core.substring(0, core.length() - 2)
            }
        }
    }

    static boolean abortDelivered

    // abortNow tells, once, that the build was aborted: Jenkins interrupts
    // the program once per click of abort, and the steps of a finally block
    // then run as usual.
    static synchronized boolean abortNow() {
        if (abortDelivered || !abortFile?.exists()) return false
        abortDelivered = true
        return true
    }

    static void checkAbort() {
        if (abortNow()) throw new FlowInterruptedException()
    }
}

// Every script (the Jenkinsfile, each vars/*.groovy) runs on this base, as
// on Jenkins' CpsScript: the steps are its methods, env is a global.
abstract class PipelineScript extends Script {
    def getEnv() { return new EnvVars() }

    def methodMissing(String name, args) {
        File f = new File(Run.library, "vars/${name}.groovy")
        if (!f.exists()) throw new MissingMethodException(name, this.class, args as Object[])
        if (!Run.vars[name]) {
            Run.vars[name] = Harness.shell().parse(f)
        }
        Run.log("[Pipeline] ${name}")
        return Run.vars[name].invokeMethod('call', args)
    }

    def propertyMissing(String name) {
        if (name == '_' ) return null // @Library('…') _
        if (name == 'any') return 'any'
        throw new MissingPropertyException(name, this.class)
    }

    def echo(Object m) { Run.log("[Pipeline] echo"); Run.log(m.toString()) }

    def error(Object m) { Run.log('[Pipeline] error'); throw new AbortException(m.toString()) }

    def pwd(Map p = [:]) { return p.tmp ? Run.cwd + '@tmp' : Run.cwd }

    def dir(String path, Closure body) {
        String prev = Run.cwd
        Run.cwd = new File(path).isAbsolute() ? path : new File(Run.cwd, path).path
        new File(Run.cwd).mkdirs()
        try { return body() } finally { Run.cwd = prev }
    }

    def libraryResource(String path) {
        File f = new File(Run.library, 'resources/' + path)
        if (!f.exists()) throw new AbortException("No such library resource ${path} could be found.")
        return f.getText('UTF-8')
    }

    private File wsFile(String path) { new File(path).isAbsolute() ? new File(path) : new File(Run.cwd, path) }

    def readFile(Object p) { Run.log('[Pipeline] readFile'); return wsFile(p instanceof Map ? p.file : p.toString()).getText('UTF-8') }

    def writeFile(Map p) { Run.log("[Pipeline] writeFile"); wsFile(p.file).setText(p.text.toString(), 'UTF-8') }

    def fileExists(String p) { return wsFile(p).exists() }

    def withEnv(List entries, Closure body) {
        Run.log('[Pipeline] withEnv')
        Run.withEnvs << entries.collect { it.toString() }
        try { return body() } finally { Run.withEnvs.remove(Run.withEnvs.size() - 1) }
    }

    def file(Map p) { return [kind: 'file'] + p }

    def string(Map p) { return [kind: 'string'] + p }

    // withCredentials binds as credentials-binding does: a file credential
    // is copied to WORKSPACE@tmp/secretFiles/UUID/ and its variable is the
    // copy's path; each bound value is masked; the copies are removed at the
    // block's end.
    def withCredentials(List bindings, Closure body) {
        Run.log('[Pipeline] withCredentials')
        List<String> entries = []
        List<File> made = []
        bindings.each { b ->
            Map c = Run.credentials[b.credentialsId]
            if (c == null) throw new AbortException("Could not find credentials entry with ID '${b.credentialsId}'")
            String value = c.value
            if (b.kind == 'file') {
                File d = new File(Run.cwd + '@tmp/secretFiles/' + UUID.randomUUID())
                d.mkdirs()
                made << d
                File copy = new File(d, new File(c.value).name)
                copy.bytes = new File(c.value).bytes
                value = copy.path
            } else if (c.kind != 'string') {
                throw new AbortException("Credentials '${b.credentialsId}' is of type file where string was expected")
            }
            Run.mask(value)
            entries << "${b.variable}=${value}".toString()
        }
        Run.log("Masking supported pattern matches of ${bindings.collect { '$' + it.variable }.join(' or ')}")
        Run.withEnvs << entries
        try { return body() } finally {
            Run.withEnvs.remove(Run.withEnvs.size() - 1)
            made.each { it.deleteDir() }
        }
    }

    // sh runs the script as durable-task's BourneShellScript does.
    def sh(Object arg) {
        Map p = arg instanceof Map ? arg : [script: arg.toString()]
        String script = p.script.toString()
        Run.checkAbort()
        Run.log('[Pipeline] sh' + (p.label ? " (${p.label})" : ''))
        File control = new File(Run.cwd + '@tmp/durable-' + Integer.toHexString(new Random().nextInt()))
        control.mkdirs()
        File f = new File(control, 'script.sh')
        f.setText(script, 'UTF-8')
        Files.setPosixFilePermissions(f.toPath(), PosixFilePermissions.fromString('rwx------'))
        List<String> cmd = script.startsWith('#!') ? [f.path] : Run.shell + ['-xe', f.path]
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new File(Run.cwd))
        pb.environment().clear()
        pb.environment().putAll(Run.shellEnv())
        File out = p.returnStdout ? new File(control, 'output.txt') : null
        if (out) pb.redirectOutput(out) else pb.redirectErrorStream(true)
        Process proc = pb.start()
        Thread pump = Thread.start {
            (out ? proc.errorStream : proc.inputStream).withReader('UTF-8') { r ->
                String line
                while ((line = r.readLine()) != null) Run.log(line)
            }
        }
        try {
            while (!proc.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (Run.abortNow()) {
                    // durable-task kills the step's whole process tree
                    // (ProcessTree.killAll): SIGTERM, then SIGKILL what is
                    // left after softKillWaitSeconds (5).
                    List<ProcessHandle> tree = proc.toHandle().descendants().collect { it } + [proc.toHandle()]
                    tree.each { it.destroy() }
                    long until = System.currentTimeMillis() + 5000
                    while (tree.any { it.alive } && System.currentTimeMillis() < until) Thread.sleep(50)
                    tree.each { it.destroyForcibly() }
                    proc.waitFor()
                    pump.join()
                    Run.log('Sending interrupt signal to process')
                    throw new FlowInterruptedException()
                }
            }
            pump.join()
            int rc = proc.exitValue()
            if (p.returnStatus) return rc
            if (rc != 0) throw new AbortException("script returned exit code ${rc}")
            return out ? out.getText('UTF-8') : null
        } finally {
            control.deleteDir()
        }
    }

    def pipeline(Closure c) { new Declarative(script: this).run(c) }

    def node(Closure body) { Run.log('[Pipeline] node'); return body() }

    def node(String label, Closure body) { return node(body) }
}

// env: reads the build's environment as sh sees it, sets the build's.
class EnvVars {
    def getProperty(String name) { return Run.shellEnv()[name] }
    void setProperty(String name, Object value) { Run.env[name] = value.toString() }
}

// The declarative pipeline's directives, run in order: environment, the
// stages (after a failure the rest are skipped), then post.
class Declarative {
    PipelineScript script
    List<Closure> stages = []
    Map<String, Closure> post = [:]

    void run(Closure c) {
        c.delegate = this
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c()
        Throwable failed = null
        for (Closure s : stages) {
            try { s() } catch (Throwable t) { failed = t; break }
        }
        String result = failed == null ? 'success' : failed instanceof InterruptedException ? 'aborted' : 'failure'
        ['always', result, 'cleanup'].each { k -> if (post[k]) { Run.log("[Pipeline] { (Declarative: Post Actions)"); post[k].call() } }
        if (failed) throw failed
    }

    void agent(Object any) {}

    void environment(Closure c) {
        Map<String, String> vars = [:]
        c.delegate = new EnvBlock(vars: vars)
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c()
        Run.env.putAll(vars)
    }

    void stages(Closure c) {
        c.delegate = new Stages(list: stages, script: script)
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c()
    }

    void post(Closure c) {
        c.delegate = new Post(map: post)
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c()
    }
}

class EnvBlock {
    Map<String, String> vars
    void setProperty(String name, Object value) { vars[name] = value.toString() }
}

class Stages {
    List<Closure> list
    PipelineScript script
    void stage(String name, Closure c) {
        list << {
            Run.log("[Pipeline] { (${name})")
            c.delegate = new Stage()
            c.resolveStrategy = Closure.DELEGATE_FIRST
            c()
        }
    }
}

class Stage {
    void steps(Closure c) { Run.checkAbort(); c() }
}

class Post {
    Map<String, Closure> map
    void always(Closure c) { map.always = c }
    void success(Closure c) { map.success = c }
    void failure(Closure c) { map.failure = c }
    void aborted(Closure c) { map.aborted = c }
    void cleanup(Closure c) { map.cleanup = c }
}

class Harness {
    static GroovyShell shell() {
        CompilerConfiguration cc = new CompilerConfiguration()
        cc.scriptBaseClass = PipelineScript.name
        // Jenkins compiles pipelines with these imported.
        cc.addCompilationCustomizers(new ImportCustomizer()
            .addImports(Library.name, NonCPS.name))
        return new GroovyShell(Harness.classLoader, new Binding(), cc)
    }
}

// org.jenkinsci.plugins.workflow.libs.Library and
// com.cloudbees.groovy.cps.NonCPS, as the Jenkinsfiles and vars use them.
@Retention(RetentionPolicy.SOURCE)
@interface Library { String[] value() }

@Retention(RetentionPolicy.RUNTIME)
@Target([ElementType.METHOD])
@interface NonCPS {}

def opts = [credentials: []]
for (int i = 0; i < args.length; i += 2) {
    switch (args[i]) {
        case '--library': Run.library = new File(args[i + 1]); break
        case '--workspace': Run.workspace = new File(args[i + 1]); break
        case '--jenkinsfile': opts.jenkinsfile = new File(args[i + 1]); break
        case '--abort-file': Run.abortFile = new File(args[i + 1]); break
        case '--sh': Run.shell = args[i + 1].split(' ') as List; break
        case '--raw-log': Run.raw = new PrintStream(new FileOutputStream(args[i + 1]), true, 'UTF-8'); break
        case '--credential':
            def (id, spec) = args[i + 1].split('=', 2)
            def (kind, value) = spec.split(':', 2)
            Run.credentials[id] = [kind: kind, value: value]
            break
        default: System.err.println("harness: unknown argument ${args[i]}"); System.exit(64)
    }
}
Run.cwd = Run.workspace.path
Run.env.putAll([WORKSPACE: Run.cwd, WORKSPACE_TMP: Run.cwd + '@tmp', BUILD_TAG: 'jenkins-argo-cred-1', JOB_NAME: 'argo-cred',
                BUILD_NUMBER: '1', JENKINS_NODE_COOKIE: UUID.randomUUID().toString()])
String result = 'SUCCESS'
try {
    Harness.shell().parse(opts.jenkinsfile).run()
} catch (InterruptedException e) {
    result = 'ABORTED'
} catch (AbortException e) {
    Run.log("ERROR: ${e.message}")
    result = 'FAILURE'
} catch (Throwable e) {
    Run.log("Also:   ${e}")
    result = 'FAILURE'
}
Run.log("Finished: ${result}")
System.exit([SUCCESS: 0, FAILURE: 1, ABORTED: 2][result])
