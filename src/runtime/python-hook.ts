// The sitecustomize.py that `vaultgate run` puts first on PYTHONPATH, so Python clients that pin their own CA bundle trust the proxy too.
import { readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The variable naming the PEM file that holds the deployment CA alone. */
export const deploymentCaVariable = 'VAULTGATE_CA_FILE';

/*
 * Why a sitecustomize: REQUESTS_CA_BUNDLE and SSL_CERT_FILE only reach clients that ask for the
 * default trust. The stripe SDK passes its bundled ca-certificates.crt as `verify=`, certifi-pinned
 * libraries pass certifi's file, and those replace the defaults. Every path ends in one of two
 * methods of ssl.SSLContext (load_verify_locations for a file, a directory or cadata;
 * set_default_verify_paths for the defaults, which load_default_certs and
 * create_default_context() call), so the deployment CA is added right after either runs.
 *
 * Python 2 is long gone; the syntax stays within Python 3.6. Nothing here may raise: a failure
 * leaves Python as it was. The sitecustomize this file shadows (Debian's, a virtualenv's, the
 * user's on PYTHONPATH) is run afterwards, and its failure is reported as site.py would report it.
 */
const sitecustomize = String.raw`# Written by vaultgate run: TLS contexts also trust the Vaultgate deployment CA
# ($VAULTGATE_CA_FILE), then the sitecustomize this file shadows runs as it would have.
import os
import sys


def _vaultgate_trust_deployment_ca():
    import functools
    import ssl

    with open(os.environ["VAULTGATE_CA_FILE"], encoding="utf-8") as f:
        pem = f.read()
    cls = ssl.SSLContext
    if getattr(cls.load_verify_locations, "_vaultgate", False):
        return  # an enclosing vaultgate run already patched this interpreter
    load_verify_locations = cls.load_verify_locations
    set_default_verify_paths = cls.set_default_verify_paths

    def add_deployment_ca(context):
        try:
            load_verify_locations(context, cadata=pem)
        except Exception:
            pass

    @functools.wraps(load_verify_locations)
    def patched_load_verify_locations(self, *args, **kwargs):
        load_verify_locations(self, *args, **kwargs)
        add_deployment_ca(self)

    @functools.wraps(set_default_verify_paths)
    def patched_set_default_verify_paths(self, *args, **kwargs):
        set_default_verify_paths(self, *args, **kwargs)
        add_deployment_ca(self)

    patched_load_verify_locations._vaultgate = True
    cls.load_verify_locations = patched_load_verify_locations
    cls.set_default_verify_paths = patched_set_default_verify_paths


def _vaultgate_shadowed_spec():
    """The sitecustomize that sys.path would have found after this file's directory."""
    import importlib.machinery

    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    entries = [os.path.realpath(os.path.abspath(p or os.curdir)) for p in sys.path]
    later = sys.path[entries.index(here) + 1:] if here in entries else [p for p, e in zip(sys.path, entries) if e != here]
    return importlib.machinery.PathFinder.find_spec("sitecustomize", later)


def _vaultgate_run_shadowed():
    try:
        import importlib.util

        spec = _vaultgate_shadowed_spec()
        if spec is None or spec.loader is None:
            return
        own = sys.modules.get("sitecustomize")
        module = importlib.util.module_from_spec(spec)
    except Exception:
        return
    # The shadowed module takes the name, so "import sitecustomize" finds it as it did before.
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        if own is not None:
            sys.modules["sitecustomize"] = own
        if sys.flags.verbose:
            sys.excepthook(*sys.exc_info())
        else:
            sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (err.__class__.__name__, err))


try:
    _vaultgate_trust_deployment_ca()
except Exception:
    pass
_vaultgate_run_shadowed()
`;

export interface PythonHook {
  /** Goes first on PYTHONPATH. */
  dir: string;
  /** The deployment CA alone: the value of VAULTGATE_CA_FILE. */
  caFile: string;
}

/** `--watch` prepares again while the child runs: a Python starting then must not read a half-written file. */
function writeIfChanged(path: string, text: string): void {
  let current: string | null = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // not written yet
  }
  if (current !== text) writeFileSync(path, text, { mode: 0o600 });
}

/** Writes sitecustomize.py and the deployment CA into `dir` (the run's private temp dir). */
export function writePythonHook(dir: string, deploymentCaPem: string): PythonHook {
  const caFile = join(dir, 'deployment-ca.pem');
  writeIfChanged(caFile, `${deploymentCaPem.trim()}\n`);
  writeIfChanged(join(dir, 'sitecustomize.py'), sitecustomize);
  return { dir, caFile };
}

/** The hook's directory first; what the child would have had anyway follows unchanged (empty entries included). */
export function pythonPathWith(hookDir: string, existing: string | undefined): string {
  return existing ? `${hookDir}${delimiter}${existing}` : hookDir;
}
