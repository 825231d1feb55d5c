import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { aptInstall, commandExists, isRoot, run } from "./shell.ts";
import { databaseUrl, type StackSettings } from "./settings.ts";

type Log = (message: string) => void;

export function adminClient(url: string) {
  return postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, idle_timeout: 5 });
}

async function connectError(url: string): Promise<string | null> {
  const sql = adminClient(url);
  try {
    await sql`select 1`;
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function waitForPostgres(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = "not tried";
  while (Date.now() < deadline) {
    last = await connectError(url);
    if (last === null) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs / 1000}s: ${last}`);
}

interface Cluster {
  version: string;
  name: string;
  port: number;
  online: boolean;
  dataDirectory: string;
}

function debianClusters(): Cluster[] {
  if (!commandExists("pg_lsclusters")) return [];
  return run("pg_lsclusters", ["-h"]).stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [version, name, port, status, , dataDirectory] = line.trim().split(/\s+/);
      return { version: version!, name: name!, port: Number(port), online: status === "online", dataDirectory: dataDirectory! };
    });
}

function controlCluster(cluster: Cluster, action: "start" | "restart"): void {
  run("pg_ctlcluster", ["--skip-systemctl-redirect", cluster.version, cluster.name, action], { timeoutMs: 120_000 });
}

/** Returns how to stop the cluster when this call started it, or null when it was already running. */
export async function ensurePostgresRunning(settings: StackSettings, log: Log): Promise<(() => void) | null> {
  const error = await connectError(settings.adminUrl);
  if (error === null) {
    log("PostgreSQL found");
    return null;
  }
  const port = Number(new URL(settings.adminUrl).port || 5432);
  const cluster = debianClusters().find((c) => c.port === port);
  if (!cluster || !isRoot()) {
    throw new Error(
      `cannot reach PostgreSQL at ${new URL(settings.adminUrl).host} (${error}). ` +
        `Start PostgreSQL 15+ there, or set PEAKWATCH_PG_ADMIN_URL to a superuser URL of a running server.`,
    );
  }
  log(`starting PostgreSQL cluster ${cluster.version}/${cluster.name}`);
  controlCluster(cluster, "start");
  await waitForPostgres(settings.adminUrl, 60_000);
  return () => run("pg_ctlcluster", ["--skip-systemctl-redirect", cluster.version, cluster.name, "stop"]);
}

export async function serverMajorVersion(adminUrl: string): Promise<number> {
  const sql = adminClient(adminUrl);
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version_num') as v`;
    return Math.floor(Number(row!.v) / 10000);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

interface CronState {
  available: boolean;
  preloaded: boolean;
  cronDatabase: string | null;
  preloadList: string[];
  dataDirectory: string;
  plpgsqlCheckAvailable: boolean;
}

async function readCronState(adminUrl: string): Promise<CronState> {
  const sql = adminClient(adminUrl);
  try {
    const [row] = await sql<{ available: boolean; preload: string; cron_db: string | null; data_dir: string; check: boolean }[]>`
      select exists (select 1 from pg_available_extensions where name = 'pg_cron') as available,
             current_setting('shared_preload_libraries') as preload,
             current_setting('cron.database_name', true) as cron_db,
             current_setting('data_directory') as data_dir,
             exists (select 1 from pg_available_extensions where name = 'plpgsql_check') as check`;
    const preloadList = row!.preload.split(",").map((s) => s.trim().replace(/^"|"$/g, "")).filter(Boolean);
    return {
      available: row!.available,
      preloaded: preloadList.includes("pg_cron"),
      cronDatabase: row!.cron_db,
      preloadList,
      dataDirectory: row!.data_dir,
      plpgsqlCheckAvailable: row!.check,
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * pg_cron must be installed, preloaded and pointed at the app database. On Debian as root we do it;
 * anywhere else we print the exact commands and stop.
 */
export async function ensurePgCron(settings: StackSettings, log: Log): Promise<void> {
  const major = await serverMajorVersion(settings.adminUrl);
  if (major < 15) throw new Error(`PostgreSQL ${major} found; peakwatch needs 15 or newer`);
  let state = await readCronState(settings.adminUrl);
  const wantedPreload = state.preloaded ? state.preloadList : [...state.preloadList, "pg_cron"];
  const ready = state.available && state.preloaded && state.cronDatabase === settings.dbName;
  const cluster = debianClusters().find((c) => c.dataDirectory === state.dataDirectory);
  const missingPackages = [
    ...(state.available ? [] : [`postgresql-${major}-cron`]),
    ...(state.plpgsqlCheckAvailable ? [] : [`postgresql-${major}-plpgsql-check`]),
  ];
  const canFix = commandExists("apt-get") && isRoot() && cluster !== undefined;

  if (missingPackages.length > 0 && canFix) aptInstall(missingPackages, log);
  if (ready) {
    if (missingPackages.length === 0) log("pg_cron found");
    return;
  }
  if (!canFix) {
    throw new Error(
      [
        `pg_cron is not set up for database ${settings.dbName}. Run as root, then rerun this script:`,
        `  apt-get update && apt-get install -y postgresql-${major}-cron postgresql-${major}-plpgsql-check`,
        `  psql -c "alter system set shared_preload_libraries = '${wantedPreload.join(",")}'"`,
        `  echo "cron.database_name = '${settings.dbName}'" >> "$(psql -Atc 'show config_file')"`,
        `  pg_ctlcluster ${major} main restart`,
      ].join("\n"),
    );
  }
  const sql = adminClient(settings.adminUrl);
  try {
    await sql.unsafe(`alter system set shared_preload_libraries = '${wantedPreload.join(",")}'`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  // ALTER SYSTEM rejects cron.* until pg_cron is loaded, so this one goes into Debian's conf.d.
  const confDir = path.join("/etc/postgresql", cluster.version, cluster.name, "conf.d");
  mkdirSync(confDir, { recursive: true });
  writeFileSync(path.join(confDir, "peakwatch-pg_cron.conf"), `cron.database_name = '${settings.dbName}'\n`);
  log(`restarting PostgreSQL ${cluster.version}/${cluster.name} to load pg_cron`);
  controlCluster(cluster, "restart");
  await waitForPostgres(settings.adminUrl, 60_000);
  state = await readCronState(settings.adminUrl);
  if (!state.preloaded || state.cronDatabase !== settings.dbName) {
    throw new Error("pg_cron is still not preloaded after the restart; check the server log");
  }
}

const pgNetStandIn = readFileSync(new URL("../sql/pg_net_standin.sql", import.meta.url), "utf8");

/**
 * What Supabase provides before any migration runs: the API roles, the extensions schema and
 * pg_net (here its stand-in, when the real extension is not available).
 */
export async function bootstrapDatabase(dbUrl: string): Promise<void> {
  const sql = adminClient(dbUrl);
  try {
    const [pgNet] = await sql`select 1 from pg_available_extensions where name = 'pg_net'`;
    if (!pgNet) await sql.unsafe(pgNetStandIn);
    await sql.unsafe(`
      do $$
      begin
        if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
        if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
        if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
      end
      $$;
      create schema if not exists extensions;
    `);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function ensureDatabase(adminUrl: string, dbName: string, log: Log): Promise<string> {
  const sql = adminClient(adminUrl);
  try {
    const [existing] = await sql`select 1 from pg_database where datname = ${dbName}`;
    if (!existing) {
      await sql.unsafe(`create database "${dbName}"`);
      log(`created database ${dbName}`);
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
  const dbUrl = databaseUrl(adminUrl, dbName);
  await bootstrapDatabase(dbUrl);
  return dbUrl;
}

async function cronSchedulerRunning(adminUrl: string): Promise<boolean> {
  const sql = adminClient(adminUrl);
  try {
    const rows = await sql`select 1 from pg_stat_activity where backend_type = 'pg_cron launcher'`;
    return rows.length > 0;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * pg_cron's scheduler stops for good when its database is dropped (and it never starts while the
 * database is missing), so a re-created database has no scheduler until the server restarts.
 */
export async function ensureCronScheduler(settings: StackSettings, log: Log): Promise<void> {
  if (await cronSchedulerRunning(settings.adminUrl)) return;
  const sql = adminClient(settings.adminUrl);
  let dataDirectory: string;
  try {
    const [row] = await sql<{ dir: string }[]>`select current_setting('data_directory') as dir`;
    dataDirectory = row!.dir;
  } finally {
    await sql.end({ timeout: 1 });
  }
  const cluster = debianClusters().find((c) => c.dataDirectory === dataDirectory);
  if (!cluster || !isRoot()) {
    throw new Error("the pg_cron scheduler is not running; restart PostgreSQL (e.g. pg_ctlcluster <version> main restart)");
  }
  log(`restarting PostgreSQL ${cluster.version}/${cluster.name}: the pg_cron scheduler was not running`);
  controlCluster(cluster, "restart");
  await waitForPostgres(settings.adminUrl, 60_000);
  for (let i = 0; i < 40; i++) {
    if (await cronSchedulerRunning(settings.adminUrl)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the pg_cron scheduler did not start after a restart; check the PostgreSQL log");
}

export async function hasCronExtension(dbUrl: string): Promise<boolean> {
  const sql = adminClient(dbUrl);
  try {
    const rows = await sql`select 1 from pg_extension where extname = 'pg_cron'`;
    return rows.length === 1;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
