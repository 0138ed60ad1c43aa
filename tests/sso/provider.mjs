// A real OpenID provider for the tests: panva's oidc-provider (OpenID Certified), pinned in
// package.json, in a process of its own. Everything it needs comes from the environment:
//   OIDC_PORT             port on 127.0.0.1; the issuer is http://127.0.0.1:<port>
//   OIDC_CLIENTS          JSON list of client metadata (client_id, client_secret, redirect_uris)
//   OIDC_JWKS             JSON list of private JWKs it signs ID tokens with
//   OIDC_ACCOUNTS         JSON object: login -> claims (email, name, groups)
//   OIDC_CLOCK_OFFSET_SECONDS  shifts its clock (a provider whose clock is behind issues tokens
//                         that are already expired)
// Its development sign-in pages accept any password for a login listed in OIDC_ACCOUNTS.
// It prints "ready <issuer>" once it listens.
import Provider from "oidc-provider";

const offset = Number(process.env.OIDC_CLOCK_OFFSET_SECONDS || "0");
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset * 1000;
}

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.OIDC_CLIENTS),
  jwks: { keys: JSON.parse(process.env.OIDC_JWKS) },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...accounts[id] };
      },
    };
  },
  pkce: { required: () => true },
  // Long enough that a clock set back by hours still keeps its sign-in cookies alive.
  ttl: { Interaction: 6 * 3600, Session: 24 * 3600, Grant: 24 * 3600 },
  cookies: { keys: ["hubportal-tests-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
