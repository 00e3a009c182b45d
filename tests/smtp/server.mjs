// A real SMTP server for Maillage's notification tests (tests/api/notifications.rs):
// nodemailer's smtp-server on a loopback port, plain text (the node's `smtp.tls =
// "none"`), no authentication required. Each message it accepts is written to the
// folder given, as `<time>-<pid>-<n>.eml` (the raw message) beside `<n>.json` (its envelope),
// each file renamed into place once complete so the test never reads half a message.
//
//   node server.mjs PORT FOLDER
//
// Prints "ready PORT" on standard output once it listens. Recipients at the domain
// `refus.example` are refused with a permanent `550` (an unknown mailbox).
import { SMTPServer } from "smtp-server";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [port, folder] = process.argv.slice(2);
if (!port || !folder) {
  console.error("usage: node server.mjs PORT FOLDER");
  process.exit(2);
}
mkdirSync(folder, { recursive: true });
let count = 0;

const server = new SMTPServer({
  secure: false,
  disabledCommands: ["STARTTLS", "AUTH"],
  authOptional: true,
  logger: false,
  onRcptTo(address, session, callback) {
    if (address.address.endsWith("@refus.example")) {
      const error = new Error("Boîte inconnue");
      error.responseCode = 550;
      return callback(error);
    }
    callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      count += 1;
      // Named by time, then process and count: a server started again on the same
      // folder adds after what is there and overwrites nothing.
      const base = join(folder, `${Date.now()}-${process.pid}-${String(count).padStart(4, "0")}`);
      const envelope = {
        from: session.envelope.mailFrom && session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address),
      };
      writeFileSync(`${base}.json.tmp`, JSON.stringify(envelope));
      renameSync(`${base}.json.tmp`, `${base}.json`);
      writeFileSync(`${base}.eml.tmp`, Buffer.concat(chunks));
      renameSync(`${base}.eml.tmp`, `${base}.eml`);
      callback();
    });
  },
});
server.on("error", (error) => console.error("smtp-server:", error.message));
server.listen(Number(port), "127.0.0.1", () => console.log(`ready ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
