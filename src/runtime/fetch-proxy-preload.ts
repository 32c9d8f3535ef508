// Preloaded into Node children of `vaultgate run` (NODE_OPTIONS=--import): makes the built-in
// fetch honour HTTP(S)_PROXY and NO_PROXY, as curl and python already do.
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';

// undici flags EnvHttpProxyAgent as experimental; that notice is noise in the agent's stderr.
const emitWarning = process.emitWarning;
process.emitWarning = (() => {}) as typeof process.emitWarning;
try {
  setGlobalDispatcher(new EnvHttpProxyAgent());
} finally {
  process.emitWarning = emitWarning;
}
