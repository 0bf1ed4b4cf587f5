/**
 * @module
 * Repository summaries and storage usage, kept for a few seconds. Both are counted from
 * every record they cover (a repository of 10,000 tags takes a while), and a list page
 * shows dozens at once: within `ttlMs` a figure is served from memory, so it may lag a
 * change by that much (longer for a repository whose count took long: a hundred times
 * the counting time). A delete made through the UI drops its repository's entry.
 *
 * Pages wait for a summary only {@linkcode SUMMARY_BUDGET_MS}: one that takes longer is
 * shown as being counted, and the count goes on into the cache for the next view, so no
 * page is slower than its own work because a repository is large.
 */
import type { Registry, RepositorySummary, StorageUsage } from "../registry/repository.ts";
import type { Repository } from "../registry/repository.ts";

/** Entries kept at most (the oldest go first). */
const MAX_ENTRIES = 5_000;
/** How long a page waits for a summary that is not cached. */
export const SUMMARY_BUDGET_MS = 25;

/** A short-lived memory of summaries. */
export class SummaryCache {
  readonly #repos = new Map<
    string,
    { at: number; keep: number; value: Promise<RepositorySummary> }
  >();
  #usage: { at: number; value: Promise<StorageUsage | null> } | null = null;

  constructor(readonly ttlMs = 15_000) {}

  /**
   * The summary of `repository` if it is known or counted within `budgetMs`, else null
   * (the count goes on, for the next view). Failures are null too.
   */
  async within(
    repository: Repository,
    budgetMs = SUMMARY_BUDGET_MS,
  ): Promise<RepositorySummary | null> {
    const counting = this.summary(repository).catch(() => null);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), budgetMs));
    try {
      return await Promise.race([counting, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The summary of `repository`, counted again when older than the TTL. */
  summary(repository: Repository, now = Date.now()): Promise<RepositorySummary> {
    const hit = this.#repos.get(repository.name);
    if (hit && now - hit.at < hit.keep) return hit.value;
    const started = performance.now();
    const value = repository.summary();
    this.#repos.delete(repository.name);
    if (this.#repos.size >= MAX_ENTRIES) this.#repos.delete(this.#repos.keys().next().value!);
    const entry = { at: now, keep: this.ttlMs, value };
    this.#repos.set(repository.name, entry);
    value.then(
      // A count that took long is kept longer: counting stays under 1% of the time.
      () => entry.keep = Math.max(this.ttlMs, 100 * (performance.now() - started)),
      // A failure is not remembered.
      () => this.#repos.get(repository.name) === entry && this.#repos.delete(repository.name),
    );
    return value;
  }

  /** Storage used by the registry, or null when the registry cannot say. */
  usage(registry: Registry, now = Date.now()): Promise<StorageUsage | null> {
    if (this.#usage && now - this.#usage.at < this.ttlMs) return this.#usage.value;
    const value = registry.usage ? registry.usage() : Promise.resolve(null);
    this.#usage = { at: now, value };
    value.catch(() => this.#usage = null);
    return value;
  }

  /** Forgets `name` (after a change made through the UI). */
  forget(name: string): void {
    this.#repos.delete(name);
    this.#usage = null;
  }
}
