// A real browser for the pam-oauth2-pkce end-to-end test: headless Chromium
// (the Debian package, /usr/bin/chromium) driven by playwright-core.
//
//   node tests/idp/chromium.mjs --url LINK --user USER --password PW
//        [--deny-context] [--account NAME] [--service NAME]
//        [--idp test|lemonldap [--refuse-consent]] [--stop-at-callback]
//        [--screenshot FILE] [--timeout SECONDS] [--executable PATH]
//
// Opens the relay's link (/l/<id>), checks the context page shows the account
// (--account, default --user) and a service (exactly --service if given),
// then:
//   * clicks "Continue to sign in", signs in at the test IdP (user name,
//     password, "Sign in"), clicks "Allow" on the consent page and waits for
//     the relay's callback page ("Signed in", or "Signed in" + the
//     confirmation code in code mode);
//   * with --idp lemonldap the IdP is a LemonLDAP::NG portal
//     (tests/llng/lib.sh): its login form (#userfield, #passwordfield,
//     "Connect"), then its consent page ("Accept") if it shows one (LLNG
//     remembers a consent per user and client); the first line printed is
//     then "consent: shown" or "consent: remembered"; with --refuse-consent
//     it clicks "Refuse" on the consent page (which must show) and expects
//     the relay's "Sign-in not completed" page;
//   * with --stop-at-callback the browser does not load the relay's
//     callback: the URL it was sent to is printed (one line) instead, for
//     a caller that delivers it itself (timing from the callback on);
//   * with --deny-context, clicks "This wasn't me" and waits for the relay's
//     "Login refused" page.
// Prints the final page's text (innerText) on stdout and exits 0.
// Any other page, status or a step taking longer than --timeout (20 s):
// exit 1 with one line on stderr. Bad usage: exit 2.
//
// Never downloads anything: the browser is the system's Chromium
// (--executable, $CHROMIUM, default /usr/bin/chromium), with a throw-away
// profile under $TMPDIR that is also its $HOME (nothing left in the real one).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function usage(msg) {
  if (msg) process.stderr.write(`chromium.mjs: ${msg}\n`);
  process.stderr.write('usage: node chromium.mjs --url LINK --user USER --password PW [--deny-context] '
    + '[--account NAME] [--service NAME] [--idp test|lemonldap [--refuse-consent]] [--stop-at-callback] [--screenshot FILE] '
    + '[--timeout SECONDS] [--executable PATH]\n');
  process.exit(2);
}

const opts = {
  url: undefined,
  user: undefined,
  password: undefined,
  denyContext: false,
  account: undefined,
  service: undefined,
  screenshot: undefined,
  timeout: 20,
  executable: process.env.CHROMIUM || '/usr/bin/chromium',
  idp: 'test',
  refuseConsent: false,
  stopAtCallback: false,
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
      case '--deny-context': opts.denyContext = true; break;
      case '--account': opts.account = val(); break;
      case '--service': opts.service = val(); break;
      case '--screenshot': opts.screenshot = val(); break;
      case '--timeout': opts.timeout = Number(val()); break;
      case '--executable': opts.executable = val(); break;
      case '--idp': opts.idp = val(); break;
      case '--stop-at-callback': opts.stopAtCallback = true; break;
      case '--refuse-consent': opts.refuseConsent = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.url) usage('--url is required');
  if (!opts.denyContext && (opts.user === undefined || opts.password === undefined)) {
    usage('--user and --password are required (unless --deny-context)');
  }
  if (!(opts.timeout > 0)) usage('--timeout must be a positive number');
  if (opts.idp !== 'test' && opts.idp !== 'lemonldap') usage('--idp must be test or lemonldap');
  if (opts.refuseConsent && opts.idp !== 'lemonldap') usage('--refuse-consent needs --idp lemonldap');
  opts.account ??= opts.user;
}

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim().slice(0, 500);

let relay;
try {
  relay = new URL(opts.url);
} catch {
  usage(`--url is not a URL: ${opts.url}`);
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  process.stderr.write(`chromium.mjs: playwright-core not installed (npm ci --prefix tests/idp): ${oneLine(err.message)}\n`);
  process.exit(1);
}
if (!fs.existsSync(opts.executable)) {
  process.stderr.write(`chromium.mjs: ${opts.executable} not found (apt-get install chromium)\n`);
  process.exit(1);
}

const ms = opts.timeout * 1000;
// A last resort against a hang outside Playwright's own timeouts.
const watchdog = setTimeout(() => {
  process.stderr.write(`chromium.mjs: gave up after ${4 * opts.timeout} s\n`);
  process.exit(1);
}, 4 * ms);
watchdog.unref();

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
let context;
let page;
const consoleErrors = [];
let lastDoc; // the last main-frame document response: {url, status}
let consent; // --idp lemonldap: 'shown' or 'remembered'
let callbackUrl; // --stop-at-callback: where the IdP sent the browser

// What the browser is on now: URL, title, and for the IdP's pages their kind
// (<meta name="idp-page" content="login|consent|error">, else null).
async function where() {
  const u = new URL(page.url());
  const title = await page.title();
  const idp = await page.evaluate(() => document.querySelector('meta[name="idp-page"]')?.content ?? null);
  return { url: u, title, idp };
}

function describe(w) {
  const err = consoleErrors.length ? `; console: ${consoleErrors[consoleErrors.length - 1]}` : '';
  const st = lastDoc ? ` HTTP ${lastDoc.status}` : '';
  return `"${w.title}" at ${w.url.origin}${w.url.pathname}${st}${err}`;
}

// Runs act() (a click) and waits for the next document to finish loading:
// redirects in between (relay 302 → IdP /auth → /interaction/…, or IdP →
// relay /callback) load no document of their own.
async function step(what, act) {
  const loaded = page.waitForEvent('load', { timeout: ms });
  await act();
  try {
    await loaded;
  } catch {
    fail(`${what}: no new page within ${opts.timeout} s (still ${describe(await where())})`);
  }
  return where();
}

async function main() {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.executable,
    headless: true,
    // Chromium's crash database (~/.config/chromium/Crash Reports) and
    // dconf cache go into the throw-away profile, not the real home.
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: path.join(profile, '.config'),
      XDG_CACHE_HOME: path.join(profile, '.cache') },
    timeout: ms,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(ms);
  page.setDefaultNavigationTimeout(ms);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(oneLine(m.text())); });
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
      lastDoc = { url: r.url(), status: r.status() };
    }
  });

  if (opts.stopAtCallback) {
    // page.route() does not see the targets of redirects (the IdP answers
    // the last form post with a redirect to the callback): intercept in
    // Chromium itself (CDP Fetch, request stage) and answer with a stub.
    const cdp = await context.newCDPSession(page);
    cdp.on('Fetch.requestPaused', (e) => {
      callbackUrl ??= e.request.url;
      cdp.send('Fetch.fulfillRequest', { requestId: e.requestId, responseCode: 200,
        responseHeaders: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }],
        body: Buffer.from('<!doctype html><title>Stopped at the callback</title>').toString('base64') })
        .catch(() => {});
    });
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${relay.origin}/callback*`, requestStage: 'Request' }] });
  }

  // 1. The relay's context page.
  const resp = await page.goto(opts.url, { waitUntil: 'load' });
  if (!resp || resp.status() !== 200) fail(`context page: HTTP ${resp ? resp.status() : '?'} (${await page.title()})`);
  let w = await where();
  if (w.title !== 'Sign-in request') fail(`context page: unexpected page ${describe(w)}`);
  const fields = Object.fromEntries(await page.$$eval('dl dt', (dts) => dts.map((dt) => [
    dt.textContent.trim(), (dt.nextElementSibling?.textContent ?? '').trim()])));
  if (fields.Account !== opts.account) fail(`context page: Account is "${fields.Account}", expected "${opts.account}"`);
  if (!fields.Service) fail('context page: no Service shown');
  if (opts.service !== undefined && fields.Service !== opts.service) {
    fail(`context page: Service is "${fields.Service}", expected "${opts.service}"`);
  }
  const forms = await page.locator('form').count();
  if (forms !== 1) fail(`context page: ${forms} forms, expected 1`);

  if (opts.denyContext) {
    w = await step('"This wasn\'t me"', () => page.getByRole('button', { name: "This wasn't me" }).click());
    if (w.url.origin !== relay.origin || w.title !== 'Login refused') fail(`after "This wasn't me": ${describe(w)}`);
    return;
  }

  // 2. Continue → the IdP's login page.
  w = await step('"Continue to sign in"', () => page.getByRole('button', { name: 'Continue to sign in' }).click());
  if (w.url.origin === relay.origin) fail(`after "Continue to sign in": still on the relay (${describe(w)})`);
  if (opts.idp === 'lemonldap') {
    w = await lemonldapSignIn(w);
  } else {
    w = await testIdpSignIn(w);
  }

  // 5. The relay's callback page.
  if (opts.stopAtCallback) {
    if (!callbackUrl) fail(`expected a redirect to the relay's /callback, got ${describe(w)}`);
    return;
  }
  if (w.url.origin !== relay.origin || w.url.pathname !== '/callback') fail(`expected the relay's /callback, got ${describe(w)}`);
  if (lastDoc && lastDoc.status !== 200) fail(`callback page: ${describe(w)}`);
  if (w.title !== (opts.refuseConsent ? 'Sign-in not completed' : 'Signed in')) fail(`callback page: ${describe(w)}`);
}

// Steps 3 and 4 at the bundled test IdP (tests/idp/server.mjs): its pages
// name themselves in <meta name="idp-page">.
async function testIdpSignIn(w) {
  if (w.idp !== 'login') fail(`after "Continue to sign in": expected the IdP's login page, got ${describe(w)}`);
  const idpOrigin = w.url.origin;

  // 3. Sign in.
  await page.getByLabel('User name').fill(opts.user);
  await page.getByLabel('Password').fill(opts.password);
  w = await step('"Sign in"', () => page.getByRole('button', { name: 'Sign in' }).click());
  if (w.idp === 'login') {
    const msg = await page.locator('#error').textContent({ timeout: 1000 }).catch(() => '');
    fail(`login rejected: ${oneLine(msg || 'the login page again')}`);
  }

  // 4. Consent (a fresh profile always gets it; tolerate its absence).
  if (w.idp === 'consent') {
    w = await step('"Allow"', () => page.getByRole('button', { name: 'Allow' }).click());
  }
  if (w.idp === 'error' || (w.url.origin === idpOrigin && w.url.origin !== relay.origin)) {
    const msg = await page.locator('body').innerText().catch(() => '');
    fail(`IdP page instead of the relay's callback: ${describe(w)}: ${oneLine(msg)}`);
  }
  return w;
}

// Steps 3 and 4 at a LemonLDAP::NG portal (2.16, bootstrap skin): the login
// form #lform (user, password, hidden token/url/skin/timezone) posts back to
// the authorization URL; the consent page is form.confirm with "Accept"
// (button.positive) and "Refuse"; an error is shown in .alert-danger /
// .message-negative on the page it happened on.
async function lemonldapSignIn(w) {
  const idpOrigin = w.url.origin;
  const portalError = async () => oneLine(await page.locator('.alert-danger, .message-negative, #errormsg')
    .first().innerText({ timeout: 1000 }).catch(() => ''));
  if (await page.locator('form#lform #userfield').count() !== 1) {
    fail(`after "Continue to sign in": expected the LemonLDAP::NG login form, got ${describe(w)}: ${await portalError()}`);
  }
  await page.locator('#userfield').fill(opts.user);
  await page.locator('#passwordfield').fill(opts.password);
  w = await step('"Connect"', () => page.locator('form#lform button[type=submit]').click());
  if (w.url.origin === idpOrigin && await page.locator('form#lform #userfield').count() > 0) {
    fail(`login rejected: ${(await portalError()) || 'the login form again'}`);
  }
  consent = 'remembered';
  if (w.url.origin === idpOrigin && await page.locator('form.confirm button.positive').count() === 1) {
    consent = 'shown';
    if (opts.refuseConsent) {
      w = await step('"Refuse"', () => page.locator('form.confirm #refuse').click());
    } else {
      w = await step('"Accept"', () => page.locator('form.confirm button.positive').click());
    }
  } else if (opts.refuseConsent) {
    fail(`--refuse-consent: no consent page (${describe(w)})`);
  }
  if (w.url.origin === idpOrigin) {
    const msg = (await portalError()) || await page.locator('body').innerText().catch(() => '');
    fail(`LemonLDAP::NG page instead of the relay's callback: ${describe(w)}: ${oneLine(msg)}`);
  }
  return w;
}

let rc = 0;
try {
  await main();
  if (consent) process.stdout.write(`consent: ${consent}\n`);
  if (opts.stopAtCallback) {
    process.stdout.write(`${callbackUrl}\n`);
  } else {
    const text = await page.locator('body').innerText();
    process.stdout.write(`${text.replace(/\s+$/, '')}\n`);
  }
} catch (err) {
  rc = 1;
  const msg = err instanceof Failure ? err.message : `${err.name}: ${err.message}`;
  process.stderr.write(`chromium.mjs: ${oneLine(msg)}\n`);
} finally {
  if (opts.screenshot && page) {
    await page.screenshot({ path: opts.screenshot, fullPage: true, timeout: 5000 }).catch(() => {});
  }
  await context?.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(rc);
