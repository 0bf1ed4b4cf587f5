/**
 * @module
 * A real PostgreSQL for tests: Debian's `postgresql` package (`initdb` and `postgres` from
 * `/usr/lib/postgresql/<version>/bin`), a fresh cluster in a temp directory, listening on
 * 127.0.0.1 on a free port, owned by an unprivileged user (the package's `postgres`
 * account when the tests run as root; PostgreSQL refuses to run as root), torn down by
 * `remove()`. `kill()` and `start()` let a test take the database away and bring it back.
 *
 * Password authentication is on for TCP (SCRAM), so tests connect as a real deployment
 * does: `postgres://berth:<password>@127.0.0.1:<port>/<database>`.
 */

/** A running test cluster. */
export interface PostgresServer {
  port: number;
  user: string;
  password: string;
  /** URL of the `postgres` database with the password in it. */
  url: string;
  /** Creates an empty database and returns its URL (with the password). */
  database(name?: string): Promise<string>;
  /** Ends the server as a crash would (immediate shutdown); the data stays. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data (after `kill`). */
  start(): Promise<void>;
  /** What the server logged so far. */
  log(): string;
  /** Stops the server and removes its data. */
  remove(): Promise<void>;
}

/** Options of {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /** Durable writes (fsync); off by default, since tests never lose power. */
  fsync?: boolean;
}

const USER = "berth";

/** The newest `bin` folder of Debian's PostgreSQL packages. */
async function binDir(): Promise<string> {
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch { /* reported below */ }
  if (versions.length === 0) {
    throw new Error("PostgreSQL is not installed: apt-get install postgresql");
  }
  return `/usr/lib/postgresql/${Math.max(...versions)}/bin`;
}

/** The uid and gid to run PostgreSQL as: `postgres` (created if missing) when root. */
async function account(): Promise<{ uid: number; gid: number } | null> {
  if (Deno.uid() !== 0) return null;
  const find = async () => {
    const passwd = await Deno.readTextFile("/etc/passwd");
    const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
    if (!line) return null;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  };
  const found = await find();
  if (found) return found;
  const made = await new Deno.Command("useradd", {
    args: ["--system", "--user-group", "--no-create-home", "postgres"],
  }).output();
  if (!made.success) {
    throw new Error(`useradd postgres failed: ${new TextDecoder().decode(made.stderr)}`);
  }
  return (await find())!;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(cmd: string, args: string[], as: { uid: number; gid: number } | null) {
  const out = await new Deno.Command(cmd, {
    args,
    ...(as ?? {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Initialises a cluster and starts it; resolves once it accepts connections. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = await binDir();
  const as = await account();
  const dir = await Deno.makeTempDir({ prefix: "berth-pg-" });
  const data = `${dir}/data`;
  const password = crypto.randomUUID();
  await Deno.writeTextFile(`${dir}/pw`, password);
  if (as) {
    await Deno.chown(dir, as.uid, as.gid);
    await Deno.chown(`${dir}/pw`, as.uid, as.gid);
  }
  await run(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    USER,
    `--pwfile=${dir}/pw`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ], as);
  let port = freePort();
  let child: Deno.ChildProcess | null = null;
  const logged: string[] = [];

  const spawn = () =>
    new Deno.Command(`${bin}/postgres`, {
      args: [
        "-D",
        data,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `unix_socket_directories=${dir}`,
        "-c",
        `fsync=${options.fsync ? "on" : "off"}`,
        "-c",
        "max_connections=200",
      ],
      ...(as ?? {}),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();

  /** Keeps the server's log (its stderr) and resolves when the stream ends. */
  const pump = async (proc: Deno.ChildProcess) => {
    for await (const text of proc.stderr.pipeThrough(new TextDecoderStream())) logged.push(text);
  };

  const waitReady = async (proc: Deno.ChildProcess) => {
    const until = Date.now() + 30_000;
    let exited = false;
    proc.status.then(() => exited = true);
    for (;;) {
      if (exited) throw new Error(`postgres exited:\n${logged.join("")}`);
      const ready = await new Deno.Command(`${bin}/pg_isready`, {
        args: ["-h", "127.0.0.1", "-p", String(port), "-U", USER, "-d", "postgres", "-q"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (ready.success) return;
      if (Date.now() > until) {
        throw new Error(`postgres did not start in 30 s:\n${logged.join("")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const start = async () => {
    for (let attempt = 0;; attempt++) {
      const proc = spawn();
      const drained = pump(proc);
      try {
        await waitReady(proc);
        child = proc;
        return;
      } catch (err) {
        try {
          proc.kill("SIGQUIT");
        } catch { /* gone */ }
        await proc.status;
        await drained;
        // Another process took the port between the probe and the start: take a new one.
        if (attempt < 3 && /could not bind|Address already in use/i.test(logged.join(""))) {
          port = freePort();
          continue;
        }
        throw err;
      }
    }
  };

  const stop = async (signal: Deno.Signal) => {
    const proc = child;
    child = null;
    if (!proc) return;
    try {
      proc.kill(signal);
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    await proc.status;
    clearTimeout(timer);
  };

  const psql = (sql: string) =>
    run(
      `${bin}/psql`,
      ["-h", dir, "-p", String(port), "-U", USER, "-d", "postgres", "-qAtc", sql],
      as,
    );

  try {
    await start();
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  const urlOf = (db: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  let databases = 0;
  return {
    get port() {
      return port;
    },
    user: USER,
    password,
    get url() {
      return urlOf("postgres");
    },
    async database(name = `berth_${++databases}_${crypto.randomUUID().slice(0, 8)}`) {
      await psql(`CREATE DATABASE "${name}"`);
      return urlOf(name);
    },
    // SIGQUIT is PostgreSQL's immediate shutdown: every process exits at once without a
    // checkpoint, and the next start runs crash recovery, as after a power loss.
    kill: () => stop("SIGQUIT"),
    start,
    log: () => logged.join(""),
    async remove() {
      // SIGINT is the fast shutdown: clients are disconnected, no waiting for them.
      await stop("SIGINT");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
