// Scripted "phone browser" for the pam-oauth2-pkce tests.
//
//   node tests/idp/browser.mjs --url URL --user USER --password PW
//        [--deny] [--cacert CA.pem] [--stop-at-redirect PREFIX]
//        [--follow-callback] [--max-hops N] [--verbose]
//
// Starts at URL (an authorization URL or a relay short link), keeps a cookie
// jar, follows redirects one hop at a time and fills in the pages it knows:
//
//   * IdP login page   (a <form> with a password input): user + password.
//   * IdP consent page (forms posting to .../confirm and .../abort): Allow,
//                      or Deny with --deny.
//   * Any other 200 HTML page (e.g. the relay's context page /l/<id>) that
//     has exactly one <form> with a submit button whose name or value is
//     "continue" (or whose label starts with "Continue"), case-insensitive:
//     that form is submitted with all its fields (hidden CSRF field
//     included) plus the button's name=value.
//
// Stops at the first redirect whose Location starts with --stop-at-redirect
// PREFIX; without it, at the first redirect whose path contains "/callback",
// or that leaves the IdP's origin (the origin that served /auth or an
// /interaction/ page) for another one. The redirect URL is printed on stdout
// and the exit status is 0 (also when it carries error=access_denied).
// With --follow-callback it GETs that URL (with the cookie jar, no further
// redirects) and prints the response body instead; a non-2xx answer there is
// a failure.
//
// Any unexpected page or status: exit 1 with a one-line reason on stderr
// (wrong password: "login rejected: ..."). Bad usage: exit 2.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

function usage(msg) {
  if (msg) process.stderr.write(`browser.mjs: ${msg}\n`);
  process.stderr.write('usage: node browser.mjs --url URL --user USER --password PW [--deny] '
    + '[--cacert CA.pem] [--stop-at-redirect PREFIX] [--follow-callback] [--max-hops N] [--verbose]\n');
  process.exit(2);
}

function die(msg) {
  process.stderr.write(`browser.mjs: ${msg.replace(/\s+/g, ' ').slice(0, 500)}\n`);
  process.exit(1);
}

const opts = {
  url: undefined,
  user: undefined,
  password: undefined,
  deny: false,
  cacert: undefined,
  stopAt: undefined,
  followCallback: false,
  maxHops: 30,
  verbose: false,
};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (a) {
      case '--url': opts.url = val(); break;
      case '--user': opts.user = val(); break;
      case '--password': opts.password = val(); break;
      case '--deny': opts.deny = true; break;
      case '--cacert': opts.cacert = val(); break;
      case '--stop-at-redirect': opts.stopAt = val(); break;
      case '--follow-callback': opts.followCallback = true; break;
      case '--max-hops': opts.maxHops = Number(val()); break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.url || !URL.canParse(opts.url)) usage('--url URL required');
  if (opts.user === undefined) usage('--user required');
  if (opts.password === undefined) usage('--password required');
}

const trace = (msg) => { if (opts.verbose) process.stderr.write(`browser: ${msg}\n`); };
const ca = opts.cacert ? fs.readFileSync(opts.cacert) : undefined;

// ---------------------------------------------------------------- cookie jar

const jar = []; // {name, value, host, hostOnly, path, secure, expires}

function defaultPath(url) {
  const p = url.pathname;
  if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
  return p.slice(0, p.lastIndexOf('/'));
}

function storeCookies(url, setCookies) {
  for (const line of setCookies) {
    const parts = line.split(';');
    const eq = parts[0].indexOf('=');
    if (eq < 1) continue;
    const c = {
      name: parts[0].slice(0, eq).trim(),
      value: parts[0].slice(eq + 1).trim(),
      host: url.hostname,
      hostOnly: true,
      path: defaultPath(url),
      secure: false,
      expires: undefined,
    };
    for (const attr of parts.slice(1)) {
      const i = attr.indexOf('=');
      const k = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : attr.slice(i + 1).trim();
      if (k === 'path' && v.startsWith('/')) c.path = v;
      else if (k === 'domain' && v) {
        const d = v.replace(/^\./, '').toLowerCase();
        if (url.hostname === d || url.hostname.endsWith(`.${d}`)) {
          c.host = d;
          c.hostOnly = false;
        }
      } else if (k === 'secure') c.secure = true;
      else if (k === 'max-age') c.expires = Date.now() + Number(v) * 1000;
      else if (k === 'expires' && c.expires === undefined) c.expires = Date.parse(v);
    }
    const idx = jar.findIndex((o) => o.name === c.name && o.host === c.host && o.path === c.path);
    if (idx >= 0) jar.splice(idx, 1);
    if (c.expires === undefined || c.expires > Date.now()) jar.push(c);
  }
}

function cookieHeader(url) {
  const now = Date.now();
  return jar
    .filter((c) => (c.expires === undefined || c.expires > now)
      && (c.hostOnly ? url.hostname === c.host
        : (url.hostname === c.host || url.hostname.endsWith(`.${c.host}`)))
      && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      && (!c.secure || url.protocol === 'https:'))
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

// ---------------------------------------------------------------- HTTP

function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      reject(new Error(`unsupported URL scheme ${url.protocol}`));
      return;
    }
    const headers = {
      'user-agent': 'pam-oauth2-pkce-test-browser/1',
      accept: 'text/html,application/json;q=0.9,*/*;q=0.8',
    };
    const cookie = cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = mod.request(url, {
      method, headers, ca, agent: false, timeout: 15000,
    }, (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (d) => {
        size += d.length;
        if (size > 1024 * 1024) req.destroy(new Error('response too large'));
        else chunks.push(d);
      });
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// ---------------------------------------------------------------- HTML forms

const decode = (s) => String(s)
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');

function attrs(tag) {
  const out = {};
  const re = /([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  const inner = tag.replace(/^<\s*[A-Za-z]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function parseForms(html) {
  const forms = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = /^<form\b[^>]*>/i.exec(m[0])[0];
    const a = attrs(open);
    const form = {
      action: a.action ?? '',
      method: (a.method || 'get').toLowerCase(),
      fields: [], // [name, value] for non-button controls
      buttons: [], // {name, value, text}
      hasPassword: false,
    };
    const inner = m[1];
    const ctl = /<(input|button|textarea|select)\b[^>]*>(?:([\s\S]*?)<\/\1\s*>)?/gi;
    let c;
    while ((c = ctl.exec(inner))) {
      const tag = c[1].toLowerCase();
      const ca2 = attrs(/^<[^>]*>/.exec(c[0])[0]);
      const type = (ca2.type || (tag === 'button' ? 'submit' : 'text')).toLowerCase();
      if (tag === 'button' || (tag === 'input' && (type === 'submit' || type === 'image'))) {
        if (type === 'submit' || type === 'image') {
          const text = tag === 'button' ? decode((c[2] || '').replace(/<[^>]*>/g, '')).trim() : (ca2.value ?? '');
          form.buttons.push({ name: ca2.name, value: ca2.value ?? '', text });
        }
        continue;
      }
      if (type === 'password') form.hasPassword = true;
      if (!ca2.name || 'disabled' in ca2) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in ca2)) continue;
      const value = tag === 'textarea' ? decode(c[2] || '') : (ca2.value ?? '');
      form.fields.push({ name: ca2.name, type, value });
    }
    forms.push(form);
  }
  return forms;
}

function pageText(html) {
  const pick = (re) => {
    const m = re.exec(html);
    return m ? decode(m[1].replace(/<[^>]*>/g, '')).trim() : '';
  };
  const err = pick(/<[^>]*id="error"[^>]*>([\s\S]*?)<\//i);
  const desc = pick(/<[^>]*id="error_description"[^>]*>([\s\S]*?)<\//i);
  if (err) return desc ? `${err}: ${desc}` : err;
  return pick(/<h1[^>]*>([\s\S]*?)<\/h1>/i) || pick(/<title[^>]*>([\s\S]*?)<\/title>/i) || html.slice(0, 120);
}

const matches = (b, re) => re.test(b.name || '') || re.test(b.value || '') || re.test(b.text || '');

// ---------------------------------------------------------------- main loop

let idpOrigin; // origin that served /auth or /interaction/
let loginsSubmitted = 0;

function isIdpUrl(url) {
  return /^\/(auth|interaction\/)/.test(url.pathname);
}

function shouldStop(from, to) {
  if (opts.stopAt !== undefined) return to.href.startsWith(opts.stopAt);
  if (/\/callback/.test(to.pathname)) return true;
  return idpOrigin !== undefined && from.origin === idpOrigin && to.origin !== idpOrigin;
}

async function finish(url) {
  if (!opts.followCallback) {
    process.stdout.write(`${url.href}\n`);
    process.exit(0);
  }
  trace(`GET ${url.origin}${url.pathname} (callback)`);
  let res;
  try {
    res = await request('GET', url);
  } catch (err) {
    die(`callback ${url.origin}${url.pathname}: ${err.message}`);
  }
  process.stdout.write(res.body);
  if (res.status < 200 || res.status > 299) die(`callback ${url.origin}${url.pathname} answered HTTP ${res.status}`);
  process.exit(0);
}

async function main() {
  let url = new URL(opts.url);
  let method = 'GET';
  let body;

  for (let hop = 0; hop < opts.maxHops; hop += 1) {
    if (isIdpUrl(url) && idpOrigin === undefined) idpOrigin = url.origin;
    trace(`${method} ${url.origin}${url.pathname}`);
    let res;
    try {
      res = await request(method, url, body);
    } catch (err) {
      die(`${method} ${url.origin}${url.pathname}: ${err.message}`);
    }
    const sc = res.headers['set-cookie'];
    if (sc) storeCookies(url, Array.isArray(sc) ? sc : [sc]);

    if ([301, 302, 303, 307, 308].includes(res.status)) {
      const loc = res.headers.location;
      if (!loc) die(`HTTP ${res.status} without Location at ${url.origin}${url.pathname}`);
      const next = new URL(loc, url);
      if (shouldStop(url, next)) return finish(next);
      if (res.status === 307 || res.status === 308) {
        // keep method and body
      } else {
        method = 'GET';
        body = undefined;
      }
      url = next;
      continue;
    }

    const ctype = String(res.headers['content-type'] || '');
    if (res.status !== 200 && !(res.status === 401 && loginsSubmitted > 0)) {
      die(`HTTP ${res.status} at ${method} ${url.origin}${url.pathname}: ${ctype.includes('html') ? pageText(res.body) : res.body.slice(0, 200)}`);
    }
    if (!ctype.includes('html')) die(`unexpected ${ctype || 'untyped'} page at ${url.origin}${url.pathname}`);

    const forms = parseForms(res.body);
    let form;
    let button;

    const loginForm = forms.find((f) => f.hasPassword);
    if (loginForm) {
      if (loginsSubmitted > 0) die(`login rejected: ${pageText(res.body)}`);
      loginsSubmitted += 1;
      form = loginForm;
      for (const f of form.fields) {
        if (f.type === 'password') f.value = opts.password;
        else if (/^(login|user(name)?|email)$/i.test(f.name) || f.type === 'text' || f.type === 'email') f.value = opts.user;
      }
      [button] = form.buttons;
    } else {
      const confirm = forms.find((f) => /\/confirm$/.test(f.action));
      const abort = forms.find((f) => /\/abort$/.test(f.action));
      if (confirm && abort) {
        form = opts.deny ? abort : confirm;
        [button] = form.buttons;
      } else {
        const cont = forms.filter((f) => f.buttons.some((b) => matches(b, /^continue\b/i)));
        if (cont.length === 1) {
          [form] = cont;
          button = form.buttons.find((b) => matches(b, /^continue\b/i));
        } else {
          die(`unexpected page at ${url.origin}${url.pathname} (HTTP ${res.status}): ${pageText(res.body)}`);
        }
      }
    }

    const params = new URLSearchParams();
    for (const f of form.fields) params.append(f.name, f.value);
    if (button?.name) params.append(button.name, button.value);
    const target = new URL(form.action || url.href, url);
    target.hash = '';
    if (form.method === 'post') {
      method = 'POST';
      body = params.toString();
      url = target;
    } else {
      method = 'GET';
      body = undefined;
      target.search = params.toString();
      url = target;
    }
  }
  die(`too many hops (${opts.maxHops})`);
}

main().catch((err) => die(err.stack || String(err)));
