/**
 * `tsx dev/auth-stand-ins/main.ts`: both auth stand-ins on fixed loopback ports for the local stack,
 * with short token lifetimes so refresh-ahead is visible within minutes. The credentials printed
 * are local demo values, valid only against these stand-ins.
 */
import { z } from "zod";
import { startOAuth2StandIn } from "./oauth2-server.ts";
import { startTradovateMdStandIn } from "../tradovate-md/server.ts";
import { startTradovateStandIn } from "./tradovate-server.ts";

const env = z
  .object({
    AUTH_STANDIN_OAUTH2_PORT: z.coerce.number().int().min(1).max(65_535).default(54_331),
    AUTH_STANDIN_TRADOVATE_PORT: z.coerce.number().int().min(1).max(65_535).default(54_332),
    AUTH_STANDIN_TOKEN_SECONDS: z.coerce.number().int().min(2).max(86_400).default(600),
    AUTH_STANDIN_TRADOVATE_MD_PORT: z.coerce.number().int().min(1).max(65_535).default(54_333),
  })
  .parse(process.env);

const seed = "local-refresh-seed";
const oauth2 = await startOAuth2StandIn({
  port: env.AUTH_STANDIN_OAUTH2_PORT,
  accessTokenTtlSeconds: env.AUTH_STANDIN_TOKEN_SECONDS,
  refreshTokens: [seed],
  reuseIntervalSeconds: 10,
});
const tradovate = await startTradovateStandIn({ port: env.AUTH_STANDIN_TRADOVATE_PORT, tokenLifetimeSeconds: env.AUTH_STANDIN_TOKEN_SECONDS });
const md = await startTradovateMdStandIn({ port: env.AUTH_STANDIN_TRADOVATE_MD_PORT, auth: tradovate });

console.log(`auth-stand-ins: LOCAL stand-ins, not real providers (tokens live ${env.AUTH_STANDIN_TOKEN_SECONDS} s)
  OAuth2     token ${oauth2.tokenUrl}  resource ${oauth2.resourceUrl}  admin ${oauth2.url}/__admin/stats
             client peakwatch-local / local-client-secret, refresh seed ${seed} (rotating, 10 s reuse interval)
  Tradovate  base ${tradovate.url}  admin ${tradovate.url.replace(/\/v1$/, "")}/__admin/stats
             user peakwatch-demo / local-password, cid 8, sec local-api-secret
  Tradovate market data  ${md.url}  admin ${md.url.replace(/^ws/, "http").replace(/\/v1\/websocket$/, "")}/__admin/stats`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void Promise.all([oauth2.close(), tradovate.close(), md.close()]).then(() => process.exit(0)));
}
