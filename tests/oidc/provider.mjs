// The OpenID provider the tests sign in through (oidc-provider 9.x), on loopback. Tests only.
// Usage: node provider.mjs PORT  (or env OIDC_PORT; PORT 0 = pick a free one)
// Env:   OIDC_CLIENTS  JSON array of client metadata, e.g.
//          [{"client_id":"app","client_secret":"s3cret","redirect_uris":["http://127.0.0.1:8080/auth/oidc/callback"]}]
//        OIDC_ACCOUNTS JSON object {accountId: {email, email_verified, name}} (optional)
// Prints one line "ISSUER http://127.0.0.1:PORT" on stdout when ready.
// Login: GET the authorization URL with &login_hint=<accountId> and the provider
// redirects straight back to redirect_uri with ?code=..&state=.. (no consent screen).
// Without login_hint a minimal form is shown: POST /interaction/:uid with field `login`.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// stdout carries only the ISSUER line: the harness may stop reading it (EPIPE would crash us).
// oidc-provider prints NOTICEs with console.info (stdout) and WARNINGs with console.warn.
process.stdout.on('error', () => {});
console.info = console.log = console.error;

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);

const clients = JSON.parse(process.env.OIDC_CLIENTS ?? JSON.stringify([{
  client_id: 'app',
  client_secret: 'app-secret',
  redirect_uris: ['http://127.0.0.1:8080/auth/oidc/callback'],
}])).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic', // or client_secret_post
  ...c,
}));

const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? JSON.stringify({
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example' },
  mallory: { email: 'mallory@example.com', email_verified: false, name: 'Mallory Unverified' },
}));

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  async findAccount(ctx, sub) {
    const a = accounts[sub];
    if (!a) return undefined;
    return { accountId: sub, async claims() { return { sub, ...a }; } };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  scopes: ['openid', 'email', 'profile'],
  // Put scope-requested claims (email, email_verified, name) in the ID token too,
  // not only in the userinfo response.
  conformIdTokenClaims: false,
  pkce: { required: () => true },            // S256 only (the default methods)
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // First-party clients: grant whatever was asked, so no consent prompt ever appears.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const g = await ctx.oidc.provider.Grant.find(grantId);
      if (g) return g;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  cookies: { keys: ['test-only-cookie-key'] },
  // explicit TTLs (seconds) also silence the "default ttl.X function called" notices
  ttl: {
    AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600,
  },
  // jwks: omitted -> a throwaway RS256 key is generated at startup (a warning is printed).
});

const callback = provider.callback();
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function finishLogin(req, res, accountId) {
  if (!accounts[accountId]) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown account ${accountId}`);
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}

server.on('request', async (req, res) => {
  const m = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url, issuer).pathname);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== 'login') {
      res.writeHead(501).end(`unexpected prompt ${details.prompt.name}`);
      return;
    }
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      return await finishLogin(req, res, new URLSearchParams(body).get('login') ?? '');
    }
    if (details.params.login_hint) return await finishLogin(req, res, details.params.login_hint);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
      `<!doctype html><title>Test IdP sign-in</title><form method="post" action="/interaction/${esc(m[1])}">`
      + '<input name="login" id="login" autofocus><button type="submit" id="submit">Sign in</button></form>',
    );
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`${err.name}: ${err.message}`);
  }
});

process.stdout.write(`ISSUER ${issuer}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
