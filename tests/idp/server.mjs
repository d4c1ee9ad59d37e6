// Bundled test OpenID provider for pam-oauth2-pkce (oidc-provider v9).
//
//   node tests/idp/server.mjs --port PORT --dir STATEDIR
//        [--https CERT.pem:KEY.pem] [--host 127.0.0.1] [--issuer-host NAME]
//        [--redirect-uri URI]... [--code-ttl SECONDS] [--conform-id-token-claims]
//
// See README.md in this directory for users, clients and the /test/ endpoints.
// This is a TEST server: it keeps everything in memory, its passwords are
// public, and it must only ever listen on loopback.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

import Provider from 'oidc-provider';

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) process.stderr.write(`server.mjs: ${msg}\n`);
  process.stderr.write('usage: node server.mjs --port PORT --dir STATEDIR '
    + '[--https CERT.pem:KEY.pem] [--host ADDR] [--issuer-host NAME] '
    + '[--redirect-uri URI]... [--code-ttl SECONDS] [--conform-id-token-claims]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: undefined,
    dir: undefined,
    https: undefined,
    host: '127.0.0.1',
    issuerHost: '127.0.0.1',
    redirectUris: [],
    codeTtl: 60,
    conformIdTokenClaims: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (a) {
      case '--port': opts.port = Number(val()); break;
      case '--dir': opts.dir = val(); break;
      case '--https': opts.https = val(); break;
      case '--host': opts.host = val(); break;
      case '--issuer-host': opts.issuerHost = val(); break;
      case '--redirect-uri': opts.redirectUris.push(val()); break;
      case '--code-ttl': opts.codeTtl = Number(val()); break;
      // oidc-provider's own default: a code-flow ID token carries only sub
      // (and the protocol claims); the scope claims are in UserInfo only
      case '--conform-id-token-claims': opts.conformIdTokenClaims = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('--port PORT required (0 = any free port)');
  if (!opts.dir) usage('--dir STATEDIR required');
  if (!Number.isInteger(opts.codeTtl) || opts.codeTtl < 1) usage('--code-ttl must be a positive integer');
  if (opts.redirectUris.length === 0) opts.redirectUris.push('http://127.0.0.1/callback');
  for (const u of opts.redirectUris) {
    if (!URL.canParse(u)) usage(`bad --redirect-uri ${u}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
fs.mkdirSync(opts.dir, { recursive: true });

const log = (msg) => process.stderr.write(`idp: ${msg}\n`);

// ---------------------------------------------------------------- keys

const KEYS_FILE = path.join(opts.dir, 'keys.json');
const ALGS = ['RS256', 'ES256', 'EdDSA'];

function writeFileAtomic(file, data, mode = 0o600) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

function generateKey(alg) {
  let pair;
  switch (alg) {
    case 'RS256': pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }); break;
    case 'ES256': pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }); break;
    case 'EdDSA': pair = crypto.generateKeyPairSync('ed25519'); break;
    default: throw new Error(`unsupported alg ${alg}`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const kid = `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

function loadOrCreateKeys() {
  if (fs.existsSync(KEYS_FILE)) {
    const parsed = JSON.parse(fs.readFileSync(KEYS_FILE, 'utf8'));
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error(`${KEYS_FILE}: no keys`);
    for (const alg of ALGS) {
      if (!parsed.keys.some((k) => k.alg === alg)) throw new Error(`${KEYS_FILE}: no ${alg} key`);
    }
    return parsed.keys;
  }
  const keys = ALGS.map(generateKey);
  writeFileAtomic(KEYS_FILE, `${JSON.stringify({ keys }, null, 2)}\n`);
  return keys;
}

let signingKeys = loadOrCreateKeys();

// ---------------------------------------------------------------- accounts

const USERS = {
  alice: {
    sub: 'sub-alice',
    password: 'alice-pw',
    claims: {
      preferred_username: 'alice',
      name: 'Alice Example',
      email: 'alice@example.org',
      email_verified: true,
      groups: ['staff', 'wheel'],
    },
  },
  bob: {
    sub: 'sub-bob',
    password: 'bob-pw',
    claims: {
      preferred_username: 'bob',
      name: 'Bob Example',
      email: 'bob@example.org',
      email_verified: false,
      groups: ['staff'],
    },
  },
  // carol's preferred_username is deliberately "Bob" (case mismatch tests);
  // she has no email claim.
  carol: {
    sub: 'sub-carol',
    password: 'carol-pw',
    claims: {
      preferred_username: 'Bob',
      name: 'Carol Example',
      groups: [],
    },
  },
  root: {
    sub: 'sub-root',
    password: 'root-pw',
    claims: {
      preferred_username: 'root',
      name: 'Root Example',
      groups: [],
    },
  },
};
const BY_SUB = new Map(Object.values(USERS).map((u) => [u.sub, u]));

function checkPassword(login, password) {
  if (!Object.hasOwn(USERS, login)) return undefined;
  const user = USERS[login];
  const a = Buffer.from(String(password));
  const b = Buffer.from(user.password);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return undefined;
  return user;
}

async function findAccount(ctx, sub) {
  const user = BY_SUB.get(sub);
  if (!user) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, ...structuredClone(user.claims) };
    },
  };
}

// ---------------------------------------------------------------- clients

const CLIENT_SECRET = process.env.IDP_CLIENT_SECRET ?? 'te:st+se%cr/et';

function clientList(redirectUris) {
  const common = {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    application_type: 'web',
    redirect_uris: [...redirectUris],
  };
  return [
    { ...common, client_id: 'pkce-rs256', token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' },
    { ...common, client_id: 'pkce-es256', token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256' },
    { ...common, client_id: 'pkce-eddsa', token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'EdDSA' },
    {
      ...common,
      client_id: 'pkce-confidential',
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ];
}

let redirectUris = opts.redirectUris;

// ---------------------------------------------------------------- HTML

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(kind, title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="idp-page" content="${esc(kind)}">
<title>${esc(title)}</title>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

function loginPage(uid, clientId, error) {
  return page('login', 'Sign in', `
<p>Sign in to continue to <b>${esc(clientId)}</b>.</p>
${error ? `<p id="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" id="login">
<label>User name <input type="text" name="login" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit" name="action" value="login">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort" id="cancel">
<button type="submit" name="action" value="cancel">Cancel</button>
</form>`);
}

function consentPage(uid, clientId, login, scopes) {
  return page('consent', 'Authorize', `
<p>Signed in as <b>${esc(login)}</b>.</p>
<p><b>${esc(clientId)}</b> asks for: ${scopes.map((s) => `<code>${esc(s)}</code>`).join(' ')}</p>
<form method="post" action="/interaction/${esc(uid)}/confirm" id="allow">
<button type="submit" name="action" value="allow">Allow</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort" id="deny">
<button type="submit" name="action" value="deny">Deny</button>
</form>`);
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = page('error', 'Error', `
<p id="error">${esc(out.error)}</p>
${out.error_description ? `<p id="error_description">${esc(out.error_description)}</p>` : ''}`);
}

// ---------------------------------------------------------------- interactions

async function readForm(req, limit = 16 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function interactionRoutes(provider) {
  return async function interactions(ctx, next) {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    ctx.set('cache-control', 'no-store');
    ctx.set('x-frame-options', 'DENY');

    const fail = (status, error, description) => {
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = page('error', 'Error', `<p id="error">${esc(error)}</p><p id="error_description">${esc(description)}</p>`);
    };

    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      return fail(400, 'invalid_request', `interaction session not found (${err.message})`);
    }
    if (details.uid !== uid) return fail(400, 'invalid_request', 'interaction mismatch');
    const { prompt, params } = details;

    if (!action) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return fail(405, 'invalid_request', 'method not allowed');
      ctx.type = 'html';
      if (prompt.name === 'login') {
        ctx.body = loginPage(uid, params.client_id);
      } else if (prompt.name === 'consent') {
        const user = BY_SUB.get(details.session?.accountId);
        const scopes = String(params.scope || '').split(' ').filter(Boolean);
        ctx.body = consentPage(uid, params.client_id, user?.claims.preferred_username ?? '?', scopes);
      } else {
        return fail(400, 'invalid_request', `unsupported prompt ${prompt.name}`);
      }
      return undefined;
    }

    if (ctx.method !== 'POST') return fail(405, 'invalid_request', 'method not allowed');
    let form;
    try {
      form = await readForm(ctx.req);
    } catch (err) {
      return fail(err.status || 400, 'invalid_request', err.message);
    }
    let result;
    let merge = true;

    if (action === 'login') {
      if (prompt.name !== 'login') return fail(400, 'invalid_request', 'login not expected now');
      const user = checkPassword(form.get('login') ?? '', form.get('password') ?? '');
      if (!user) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(uid, params.client_id, 'Invalid user name or password.');
        return undefined;
      }
      result = { login: { accountId: user.sub, ...assuranceLogin() } };
      merge = false;
    } else if (action === 'confirm') {
      if (prompt.name !== 'consent') return fail(400, 'invalid_request', 'consent not expected now');
      const { accountId } = details.session;
      let grant;
      if (details.grantId) {
        grant = await provider.Grant.find(details.grantId);
      } else {
        grant = new provider.Grant({ accountId, clientId: params.client_id });
      }
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scope] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scope.join(' '));
        }
      }
      const grantId = await grant.save();
      result = { consent: details.grantId ? {} : { grantId } };
    } else {
      result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
      merge = false;
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

// ---------------------------------------------------------------- storage

// A small in-memory adapter whose store is shared by every Provider instance
// in this process (oidc-provider's built-in memory adapter gives each
// instance its own store, which would lose codes, sessions and interactions
// when /test/rotate swaps the instance). Entries expire CLOCK_SKEW seconds
// after oidc-provider's own expiry, like the built-in one.
const CLOCK_SKEW = 15;
const store = new Map(); // key -> { value, exp (ms or Infinity) }
const grantIndex = new Map(); // grantId -> Set of keys

function storeGet(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.exp <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.value;
}

function storeSet(key, value, expiresIn) {
  const exp = typeof expiresIn === 'number' ? Date.now() + (expiresIn + CLOCK_SKEW) * 1000 : Infinity;
  store.set(key, { value, exp });
  if (store.size > 10000) {
    const now = Date.now();
    for (const [k, e] of store) if (e.exp <= now) store.delete(k);
    for (const [g, keys] of grantIndex) {
      for (const k of keys) if (!store.has(k)) keys.delete(k);
      if (keys.size === 0) grantIndex.delete(g);
    }
  }
}

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    storeSet(key, payload, expiresIn);
    if (this.model === 'Session' && payload.uid) storeSet(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresIn);
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = storeGet(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storeGet(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantIndex.get(grantId) ?? []) store.delete(key);
    grantIndex.delete(grantId);
  }
}

// ---------------------------------------------------------------- provider

const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter: SharedMemoryAdapter,
    clients: clientList(redirectUris),
    jwks: { keys: signingKeys },
    findAccount,
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      auth_time: null,
      // acr and amr with the openid scope: in every ID token whose sign-in
      // has them (set by /test/assurance), as most IdPs do
      openid: ['sub', 'acr', 'amr'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    conformIdTokenClaims: opts.conformIdTokenClaims,
    acrValues: ACR_VALUES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    cookies: { keys: cookieKeys },
    clientBasedCORS: () => false,
    renderError,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: opts.codeTtl,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  provider.use(interactionRoutes(provider));
  for (const ev of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(ev, (ctx, err) => {
      log(`${ev}: ${err.error || err.name}${err.error_description ? ` (${err.error_description})` : ''}`);
    });
  }
  return provider;
}

// The keys (and redirect URIs) are fixed when a Provider is constructed, so
// /test/rotate builds a NEW Provider with the new keys and swaps it in behind
// the same listening socket (no restart, no port change). Codes, sessions,
// grants and interactions live in SharedMemoryAdapter and survive the swap;
// the cookie signing keys are shared across instances too.
let handler = null;
let issuer = null;

function swapProvider() {
  handler = buildProvider(issuer).callback();
}

// ---------------------------------------------------------------- /test/ endpoints

function isLoopback(addr) {
  return addr === '::1' || /^(::ffff:)?127\./.test(addr || '');
}

function sendJson(res, status, obj) {
  const body = `${JSON.stringify(obj)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

async function testEndpoint(req, res, url) {
  if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'forbidden' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });

  if (url.pathname === '/test/rotate') {
    const keep = ['1', 'true', 'yes'].includes(url.searchParams.get('keep') ?? '');
    const fresh = ALGS.map(generateKey);
    signingKeys = keep ? [...fresh, ...signingKeys] : fresh;
    writeFileAtomic(KEYS_FILE, `${JSON.stringify({ keys: signingKeys }, null, 2)}\n`);
    swapProvider();
    const kids = Object.fromEntries(fresh.map((k) => [k.alg, k.kid]));
    log(`rotated keys (keep=${keep}): ${Object.values(kids).join(' ')}`);
    return sendJson(res, 200, { kids, jwks_kids: signingKeys.map((k) => k.kid), keep });
  }

  if (url.pathname === '/test/redirect-uris') {
    let form;
    try {
      form = await readForm(req);
    } catch {
      return sendJson(res, 413, { error: 'too large' });
    }
    const uris = form.getAll('uri');
    if (uris.length === 0 || !uris.every((u) => URL.canParse(u))) {
      return sendJson(res, 400, { error: 'give one or more valid uri= fields' });
    }
    redirectUris = uris;
    swapProvider();
    log(`redirect_uris now: ${uris.length} URI(s)`);
    return sendJson(res, 200, { redirect_uris: uris });
  }

  if (url.pathname === '/test/assurance') {
    const q = url.searchParams;
    const next = {};
    if (q.has('acr')) {
      if (!ACR_VALUES.includes(q.get('acr'))) return sendJson(res, 400, { error: `acr: one of ${ACR_VALUES.join(' ')}` });
      next.acr = q.get('acr');
    }
    if (q.has('amr')) next.amr = q.get('amr').split(',').filter(Boolean);
    // amr_string=1: amr as one JSON string, not an array (a non-conforming IdP)
    if (next.amr && ['1', 'true', 'yes'].includes(q.get('amr_string') ?? '')) next.amr = next.amr.join(' ');
    if (q.has('auth_age')) {
      const age = Number(q.get('auth_age'));
      if (!Number.isInteger(age) || age < 0 || age > 86400) return sendJson(res, 400, { error: 'auth_age: 0..86400' });
      next.authAge = age;
    }
    assurance = next;
    log(`assurance fixture: ${JSON.stringify(assurance)}`);
    return sendJson(res, 200, assurance);
  }

  if (url.pathname === '/test/userinfo') {
    const mode = url.searchParams.get('mode') ?? 'real';
    if (!USERINFO_MODES.includes(mode)) return sendJson(res, 400, { error: `mode: one of ${USERINFO_MODES.join(' ')}` });
    userinfoMode = mode;
    log(`userinfo fixture: ${mode}`);
    return sendJson(res, 200, { mode });
  }

  return sendJson(res, 404, { error: 'not found' });
}

// ---------------------------------------------------------------- assurance fixture

// POST /test/assurance?acr=A&amr=m1,m2[&amr_string=1]&auth_age=N: what the next sign-ins
// get (the login result of the interaction, as a real IdP's MFA step would
// set it): acr (one of ACR_VALUES), amr (array), and a login time N seconds
// in the past (auth_time; oidc-provider accepts an interaction's login
// without re-checking max_age, as a lax IdP would). No parameters: reset
// (no acr, no amr, login time = now).
const ACR_VALUES = ['urn:pam-test:loa:1', 'urn:pam-test:loa:2', 'phr'];
let assurance = {};

function assuranceLogin() {
  const out = {};
  if (assurance.acr) out.acr = assurance.acr;
  if (assurance.amr) out.amr = assurance.amr;
  if (assurance.authAge) out.ts = Math.floor(Date.now() / 1000) - assurance.authAge;
  return out;
}

// ---------------------------------------------------------------- UserInfo fixture

// POST /test/userinfo?mode=M replaces what GET/POST /me answers, for what a
// real IdP will not do (the helper's refusals, end to end): real (default:
// oidc-provider answers), sub-mismatch (200 JSON for another sub), html,
// jwt (application/jwt), big (8 MiB JSON), 401, 500, hang (never answers).
// Every other endpoint stays real, so the ID token is genuine.
const USERINFO_MODES = ['real', 'sub-mismatch', 'html', 'jwt', 'big', '401', '500', 'hang'];
let userinfoMode = 'real';

function userinfoFixture(req, res) {
  const send = (status, type, body) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };
  switch (userinfoMode) {
    case 'sub-mismatch':
      return send(200, 'application/json', JSON.stringify({
        sub: 'sub-mallory', preferred_username: 'alice', groups: ['staff', 'wheel'],
      }));
    case 'html':
      return send(200, 'text/html; charset=utf-8', '<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>\n');
    case 'jwt':
      return send(200, 'application/jwt', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWItYWxpY2UifQ.c2ln');
    case 'big': {
      const body = `{"sub":"sub-alice","x":"${'a'.repeat(8 * 1024 * 1024)}"}`;
      return send(200, 'application/json', body);
    }
    case '401':
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      return send(401, 'application/json', '{"error":"invalid_token"}');
    case '500':
      return send(500, 'application/json', '{"error":"server_error"}');
    case 'hang':
      return undefined; // held open until the client gives up or the server stops
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- server

function onRequest(req, res) {
  let pathname = '/';
  let url;
  try {
    url = new URL(req.url, 'http://x');
    pathname = url.pathname;
  } catch {
    // leave defaults
  }
  res.on('finish', () => log(`${req.method} ${pathname} ${res.statusCode}`));
  if (!url || !handler) {
    res.writeHead(url ? 503 : 400);
    res.end();
    return;
  }
  if (pathname.startsWith('/test/')) {
    testEndpoint(req, res, url).catch((err) => {
      log(`test endpoint error: ${err.message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
    return;
  }
  if (pathname === '/me' && userinfoMode !== 'real') {
    userinfoFixture(req, res);
    return;
  }
  handler(req, res);
}

let server;
if (opts.https) {
  const idx = opts.https.indexOf(':');
  if (idx < 1) usage('--https wants CERT.pem:KEY.pem');
  const cert = fs.readFileSync(opts.https.slice(0, idx));
  const key = fs.readFileSync(opts.https.slice(idx + 1));
  server = https.createServer({ cert, key }, onRequest);
} else {
  server = http.createServer(onRequest);
}
server.keepAliveTimeout = 5000;

const READY_FILE = path.join(opts.dir, 'ready.json');

server.on('error', (err) => {
  log(`listen error: ${err.message}`);
  process.exit(1);
});

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  const scheme = opts.https ? 'https' : 'http';
  const hostPart = opts.issuerHost.includes(':') ? `[${opts.issuerHost}]` : opts.issuerHost;
  issuer = `${scheme}://${hostPart}:${port}`;
  swapProvider();
  writeFileAtomic(READY_FILE, `${JSON.stringify({ issuer, port, pid: process.pid })}\n`, 0o644);
  process.stdout.write(`${issuer}\n`);
  log(`listening on ${opts.host}:${port}, issuer ${issuer}`);
});

let stopping = false;
function stop(sig) {
  if (stopping) return;
  stopping = true;
  log(`${sig}: stopping`);
  try { fs.unlinkSync(READY_FILE); } catch { /* already gone */ }
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
