// A small Fedify 2.x server, run only by Maillage's interoperability test
// (tests/api/interop.rs) on loopback with the Node 22 of this package's `node`
// dependency: `node_modules/.bin/node peer.mjs <port>` (or FEDIFY_PEER_PORT). The same
// peer as tests/interop/fedify (Fedify 1.5.9), on Fedify 2, which signs its requests with
// RFC 9421 HTTP Message Signatures first and falls back to draft-cavage on a 401.
// One actor, `citoyenne` (a Person with an RSA key pair generated at start), follows a
// Maillage collectivité on request and records every activity its inbox accepted.
// Fedify verifies the HTTP signatures of inbound activities itself and answers 401 to
// the ones it cannot verify, so whatever is recorded here passed Fedify's checks.
//
// Control routes (for the test, not part of any protocol):
//   GET  /control/health    -> { ok, actor }
//   POST /control/follow?target=<acct:user@host or actor URL>
//                           -> sends a signed Follow now; { followed, follow } (502 + error)
//   POST /control/reply?inReplyTo=<object URL>&to=<actor URL>&content=<HTML>
//                           -> sends a signed Create{Note} replying to the object, to
//                              the actor's inbox; { note, create } (502 + error)
//   GET  /control/received  -> [{ type, id, actor, object, objectType, name, signature }]
//                              (signature: "rfc9421" when the request carried
//                              Signature-Input, else "draft-cavage")
//   GET  /control/sent      -> [{ method, url, status, signature }] every request this
//                              peer sent, with the status it got: a 401 there is a
//                              refused first knock
// Set FEDIFY_PEER_LOG=debug (or info, warning…) to get Fedify's logs on the console.
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import { Activity, Create, Endpoints, Follow, isActor, Note, Person, PUBLIC_COLLECTION } from "@fedify/vocab";
import { configure, getConsoleSink } from "@logtape/logtape";

const port = Number(process.argv[2] ?? process.env.FEDIFY_PEER_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node peer.mjs <port>");
  process.exit(2);
}
const origin = `http://localhost:${port}`;
const USER = "citoyenne";

if (process.env.FEDIFY_PEER_LOG) {
  await configure({
    sinks: { console: getConsoleSink() },
    contextLocalStorage: new AsyncLocalStorage(),
    loggers: [
      { category: "fedify", lowestLevel: process.env.FEDIFY_PEER_LOG, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

// Fedify always fetches WebFinger for `acct:` URIs over https, and the Maillage test
// nodes serve plain http on loopback: such WebFinger requests to a loopback host are
// sent over http instead. Nothing else is rewritten.
// Every request sent is recorded with its answer, for /control/sent.
const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  if (typeof input === "string" || input instanceof URL) {
    const url = new URL(input);
    if (url.protocol === "https:" && url.pathname === "/.well-known/webfinger" &&
        ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
      url.protocol = "http:";
      input = url;
    }
  }
  const request = new Request(input, init);
  const signature = request.headers.has("signature-input") ? "rfc9421"
    : request.headers.has("signature") ? "draft-cavage" : null;
  const response = await realFetch(request);
  sent.push({ method: request.method, url: request.url, status: response.status, signature });
  return response;
};

// `allowPrivateAddress`: Fedify refuses loopback URLs otherwise (SSRF guard).
const federation = createFederation({ kv: new MemoryKvStore(), origin, allowPrivateAddress: true });
const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const [key] = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Citoyenne (Fedify)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: key.cryptographicKey,
      assertionMethods: [key.multikey],
    });
  })
  .mapHandle((_ctx, username) => (username === USER ? USER : null))
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USER ? [keyPair] : []));

// Every activity type lands here (Fedify dispatches on the class hierarchy), only once
// its signature verified and its actor owns the signing key. `signature` is the kind
// of HTTP signature the request carried (noted by the HTTP server below).
const received = [];
const signatureKind = new AsyncLocalStorage();
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Activity, async (_ctx, activity) => {
    let object = null;
    try {
      object = await activity.getObject(); // embedded by Maillage, so not fetched
    } catch {
      // keep the id only
    }
    received.push({
      type: activity.constructor.typeId.href.split("#").pop(),
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      object: activity.objectId?.href ?? null,
      objectType: object?.constructor?.typeId?.href.split("#").pop() ?? null,
      name: object?.name?.toString() ?? null,
      signature: signatureKind.getStore() ?? null,
    });
  });

// POST /control/follow: resolves the target with Fedify's lookup (WebFinger for acct:)
// and sends a signed Follow from `citoyenne` to its inbox, now (no queue configured).
async function follow(target) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const actor = await ctx.lookupObject(target);
  if (!isActor(actor)) throw new Error(`${target}: no actor found`);
  const activity = new Follow({
    id: new URL(`/follows/${crypto.randomUUID()}`, origin),
    actor: ctx.getActorUri(USER),
    object: actor.id,
    to: actor.id,
  });
  await ctx.sendActivity({ identifier: USER }, actor, activity);
  return { followed: actor.id.href, follow: activity.id.href };
}

// POST /control/reply: a public Note from `citoyenne` answering `inReplyTo`, sent
// (signed) to the inbox of the actor `to`, now.
async function reply(inReplyTo, to, content) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const recipient = await ctx.lookupObject(to);
  if (!isActor(recipient)) throw new Error(`${to}: no actor found`);
  const note = new Note({
    id: new URL(`/notes/${crypto.randomUUID()}`, origin),
    attribution: ctx.getActorUri(USER),
    replyTarget: new URL(inReplyTo),
    content,
    to: PUBLIC_COLLECTION,
    cc: recipient.id,
  });
  const activity = new Create({
    id: new URL(`/creates/${crypto.randomUUID()}`, origin),
    actor: ctx.getActorUri(USER),
    object: note,
    to: PUBLIC_COLLECTION,
    cc: recipient.id,
  });
  await ctx.sendActivity({ identifier: USER }, recipient, activity);
  return { note: note.id.href, create: activity.id.href };
}

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/control/health") return json({ ok: true, actor: `${origin}/users/${USER}` });
  if (url.pathname === "/control/received") return json(received);
  if (url.pathname === "/control/sent") return json(sent);
  if (url.pathname === "/control/reply" && request.method === "POST") {
    try {
      const p = url.searchParams;
      return json(await reply(p.get("inReplyTo") ?? "", p.get("to") ?? "", p.get("content") ?? ""));
    } catch (error) {
      return json({ error: String(error) }, 502);
    }
  }
  if (url.pathname === "/control/follow" && request.method === "POST") {
    try {
      return json(await follow(url.searchParams.get("target") ?? ""));
    } catch (error) {
      return json({ error: String(error) }, 502);
    }
  }
  return await federation.fetch(request, { contextData: undefined });
}

// node:http <-> fetch API: the whole body is read first (activities are small).
http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const request = new Request(new URL(req.url, origin), {
      method: req.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    const kind = headers.has("signature-input") ? "rfc9421"
      : headers.has("signature") ? "draft-cavage" : null;
    const response = await signatureKind.run(kind, () => handle(request));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(error);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  }
}).listen(port, "127.0.0.1", () => console.log(`Fedify 2 peer listening on ${origin}`));
