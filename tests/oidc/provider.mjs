// A real OpenID Connect provider (oidc-provider) on loopback for Polku's tests.
//
//   PORT=8765 OIDC_CLIENTS='[{"client_id": "polku", "client_secret": "s3cret",
//     "redirect_uris": ["http://127.0.0.1:5000/auth/callback"]}]' node tests/oidc/provider.mjs
//
// The port is argv[2] or $PORT (default 0, any free port); the issuer is $ISSUER or http://127.0.0.1:<port>.
// Prints "READY <issuer>" on stdout once listening. State lives in memory and is gone on exit.
//
// For tests of a client's ID-token checks only: OIDC_TAMPER='{"aud": "someone-else"}' (a JSON object) makes the
// provider mis-issue every ID token with these claims put over the real ones, still signed with its own key.
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';

import { Provider } from 'oidc-provider';

// Personal identity codes (hetu) with individual numbers 900-999 are reserved for test use.
const ACCOUNTS = {
  'asiakas-1': { sub: 'asiakas-1', name: 'Aino Asiakas', personal_identity_code: '010150-902E' },
  'hoitaja-1': { sub: 'hoitaja-1', name: 'Hanna Hoitaja', personal_identity_code: '150385-9356' },
};

const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]').map((client) => ({
  response_types: ['code'],
  grant_types: ['authorization_code'],
  ...client,
}));

const tamper = process.env.OIDC_TAMPER ? JSON.parse(process.env.OIDC_TAMPER) : null;
if (tamper !== null && (typeof tamper !== 'object' || Array.isArray(tamper))) {
  throw new TypeError('OIDC_TAMPER must be a JSON object of ID-token claims');
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const KID = 'polku-test';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const configuration = {
  clients,
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] },
  // Cookies ignore ports: names of their own keep these apart from the app's cookies on 127.0.0.1.
  cookies: {
    keys: ['polku-test-cookie-key-1', 'polku-test-cookie-key-2'],
    names: { session: 'oidc_session', interaction: 'oidc_interaction', resume: 'oidc_interaction_resume' },
  },
  responseTypes: ['code'],
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'personal_identity_code'] },
  // Put the scope's claims into the ID token of the code flow too, not only into userinfo.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, id) {
    const claims = ACCOUNTS[id];
    return claims && { accountId: id, claims: async () => claims };
  },
};

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, clientId, message = '') {
  return `<!doctype html>
<html lang="fi"><head><meta charset="utf-8"><title>Kirjaudu</title></head>
<body><h1>Kirjaudu palveluun ${escape(clientId)}</h1>${message && `<p role="alert">${escape(message)}</p>`}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Tunnus</label> <input id="login" name="login" autofocus>
<button type="submit">Kirjaudu</button>
</form></body></html>`;
}

// Grants everything the authorization request asked for, so no consent page is needed.
async function grantRequested(provider, accountId, { grantId, params }) {
  const grant = (grantId && (await provider.Grant.find(grantId)))
    || new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  if (params.claims) {
    const { id_token: idToken = {}, userinfo = {} } = JSON.parse(params.claims);
    grant.addOIDCClaims([...Object.keys(idToken), ...Object.keys(userinfo)]);
  }
  return grant.save();
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function interactions(provider) {
  return async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!match) return next();
    ctx.set('Cache-Control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
    const { prompt, params, session } = details;

    if (ctx.method === 'GET' && prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = loginPage(details.uid, params.client_id);
    } else if (ctx.method === 'GET' && prompt.name === 'consent') {
      const grantId = await grantRequested(provider, session.accountId, details);
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } });
    } else if (ctx.method === 'POST' && match[2] && prompt.name === 'login') {
      const login = (await readForm(ctx.req)).get('login') ?? '';
      if (!ACCOUNTS[login]) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = loginPage(details.uid, params.client_id, `Tuntematon tunnus: ${login}`);
        return;
      }
      const grantId = await grantRequested(provider, login, details);
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login }, consent: { grantId } }, {
        mergeWithLastSubmission: false,
      });
    } else {
      ctx.throw(405, `no ${ctx.method} for the ${prompt.name} prompt here`);
    }
  };
}

// The ID token `jwt` with `claims` put over its own and signed again with the provider's key (RS256, as issued).
function tampered(jwt, claims) {
  const [header, payload] = jwt.split('.', 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  if (header.alg !== 'RS256' || header.kid !== KID) throw new Error(`cannot tamper with a ${header.alg} ID token`);
  const input = [header, { ...payload, ...claims }]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

// Test-only, and off unless OIDC_TAMPER is set: wraps the IdToken model's issue(), which builds, signs (and
// would encrypt) every ID token; its other uses (logout tokens, JWT userinfo...) are left alone.
function tamperWithIdTokens(provider, claims) {
  const { issue } = provider.IdToken.prototype;
  provider.IdToken.prototype.issue = async function issueTampered(options) {
    const jwt = await issue.call(this, options);
    return options?.use === 'idtoken' ? tampered(jwt, claims) : jwt;
  };
}

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = process.env.ISSUER ?? `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, configuration);
provider.use(interactions(provider));
if (tamper) tamperWithIdTokens(provider, tamper);
// Static clients are only validated when first used: do it now, so that a bad one fails the start.
for (const { client_id: id } of clients) await provider.Client.find(id);
server.on('request', provider.callback());
console.log(`READY ${issuer}`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
