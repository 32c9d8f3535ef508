// The child end of the orchestrator's IPC (startIpcChild in proxy-harness.mjs): one handler per command, every reply { id, result } or { id, error }.

/**
 * Answers each message `{ id, cmd, … }` with what `handlers[cmd](msg)` resolves to; `{ cmd: 'exit' }`
 * or a lost channel ends the process. Tells the parent it is ready.
 */
export function serveCommands(handlers) {
  process.on('message', async (msg) => {
    if (msg?.cmd === 'exit') process.exit(0);
    try {
      if (!Object.hasOwn(handlers, msg.cmd)) throw new Error(`unknown command ${msg.cmd}`);
      process.send({ id: msg.id, result: await handlers[msg.cmd](msg) });
    } catch (err) {
      process.send({ id: msg.id, error: String(err?.stack ?? err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}
