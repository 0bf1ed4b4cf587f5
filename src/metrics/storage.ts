/**
 * @module
 * Timing wrappers around the drivers. Blob-driver calls become distribution's
 * `registry_storage_action_seconds{driver,action}`, with distribution's action names where
 * a call does the same kind of work (a Berth `read` is distribution's `Reader`, an upload
 * `append` its `Writer`, publishing an upload its `Move`):
 *
 * | driver call                       | action        |
 * | --------------------------------- | ------------- |
 * | `stat`, `health`                  | `Stat`        |
 * | `read`, `uploads.read`            | `Reader`      |
 * | `write`                           | `PutContent`  |
 * | `uploads.create`, `uploads.append`| `Writer`      |
 * | `uploads.publish`                 | `Move`        |
 * | `delete`, `uploads.abort`         | `Delete`      |
 * | `list`, `uploads.list`            | `List`        |
 * | `signedUrl`                       | `RedirectURL` |
 *
 * As in distribution, a read is timed until its stream is open, not until it is consumed;
 * an append is timed until its body has been stored. Metadata commits become
 * `berth_metadata_commit_seconds{store}`, and commits whose checks failed (another writer
 * got there first; the caller retries) `berth_metadata_commit_conflicts_total{store}`.
 */
import type { BlobDriver, UploadDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { decorate } from "../decorate.ts";
import type { Histogram, HistogramChild, MetricsRegistry } from "./registry.ts";

/** A blob driver whose calls are timed into `registry_storage_action_seconds`. */
export function timedBlobDriver(inner: BlobDriver, metrics: MetricsRegistry): BlobDriver {
  const seconds = metrics.histogram({
    name: "registry_storage_action_seconds",
    help: "The number of seconds that the storage action takes",
    labels: ["driver", "action"],
  });
  const time = timer(seconds, inner.name);
  const up = inner.uploads;
  const uploads = decorate<UploadDriver>(up, {
    create: (id) => time("Writer", () => up.create(id)),
    append: (ref, offset, body) => time("Writer", () => up.append(ref, offset, body)),
    read: (ref, end) => time("Reader", () => up.read(ref, end)),
    publish: (ref, size, key) => time("Move", () => up.publish(ref, size, key)),
    abort: (ref) => time("Delete", () => up.abort(ref)),
    list: up.list ? () => timedList(seconds.labels(inner.name, "List"), up.list!()) : undefined,
  });
  return decorate<BlobDriver>(inner, {
    stat: (key) => time("Stat", () => inner.stat(key)),
    read: (key, range, expect) => time("Reader", () => inner.read(key, range, expect)),
    write: (key, body) => time("PutContent", () => inner.write(key, body)),
    delete: (key) => time("Delete", () => inner.delete(key)),
    list: (prefix) => timedList(seconds.labels(inner.name, "List"), inner.list(prefix)),
    uploads,
    health: () => time("Stat", () => inner.health()),
    signedUrl: inner.signedUrl
      ? (key, ttl) => time("RedirectURL", () => inner.signedUrl!(key, ttl))
      : undefined,
  });
}

/** A metadata store whose commits are timed and whose conflicts are counted. */
export function timedMetadataStore(inner: MetadataStore, metrics: MetricsRegistry): MetadataStore {
  const seconds = metrics.histogram({
    name: "berth_metadata_commit_seconds",
    help: "The number of seconds a metadata commit takes",
    labels: ["store"],
  }).labels(inner.name);
  const conflicts = metrics.counter({
    name: "berth_metadata_commit_conflicts_total",
    help: "Metadata commits not applied because a check failed (a concurrent change)",
    labels: ["store"],
  }).labels(inner.name);
  return decorate<MetadataStore>(inner, {
    async commit(checks, mutations) {
      const started = performance.now();
      try {
        const version = await inner.commit(checks, mutations);
        if (version === null) conflicts.inc();
        return version;
      } finally {
        seconds.observe((performance.now() - started) / 1000);
      }
    },
  });
}

function timer(seconds: Histogram, driver: string) {
  const byAction = new Map<string, HistogramChild>();
  return async <T>(action: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      let series = byAction.get(action);
      if (!series) byAction.set(action, series = seconds.labels(driver, action));
      series.observe((performance.now() - started) / 1000);
    }
  };
}

/** A listing, timed from its first request to its last entry. */
async function* timedList<T>(
  series: { observe(value: number): void },
  entries: AsyncIterable<T>,
): AsyncIterable<T> {
  const started = performance.now();
  try {
    yield* entries;
  } finally {
    series.observe((performance.now() - started) / 1000);
  }
}
