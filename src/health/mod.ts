/**
 * @module
 * Health, in distribution's shape: the checks of the `health:` section run as jobs of
 * every instance; `/debug/health` on the debug server answers distribution's body (the
 * failed checks, name to error; 200 with `{}` when none, 503 otherwise); while a check
 * fails, the registry API answers 503 `UNAVAILABLE` (as distribution's health handler
 * does, so a file check takes an instance out of rotation); `/healthz` on the public
 * port lists the configured checks next to the drivers' own, and fails while the
 * process drains, so a load balancer stops sending before it stops.
 *
 * Always part of the runtime: without a `health:` section only the drain is reported.
 */
import type { CapabilityFactory } from "../capability.ts";
import { decorate } from "../decorate.ts";
import { RegistryError } from "../errors.ts";
import { renderError } from "../http/render_error.ts";
import type { Job } from "../jobs/scheduler.ts";
import type { HealthCheck, Registry } from "../registry/repository.ts";
import { fileProbe, httpProbe, storageProbe, tcpProbe } from "./checks.ts";
import { failures, MonitoredCheck } from "./monitor.ts";

/** The health capability. */
export const healthCapability: CapabilityFactory = (ctx) => {
  const { config, lifecycle, logger } = ctx;
  const section = config.health;
  const checks: MonitoredCheck[] = [];
  if (section?.storagedriver.enabled) {
    const { interval, threshold } = section.storagedriver;
    checks.push(
      new MonitoredCheck(
        `storagedriver_${config.storage.driver}`,
        storageProbe(ctx.drivers),
        interval,
        threshold,
      ),
    );
  }
  for (const c of section?.file ?? []) {
    checks.push(new MonitoredCheck(c.file, fileProbe(c), c.interval, c.threshold));
  }
  for (const c of section?.http ?? []) {
    checks.push(new MonitoredCheck(c.uri, httpProbe(c), c.interval, c.threshold));
  }
  for (const c of section?.tcp ?? []) {
    checks.push(new MonitoredCheck(c.addr, tcpProbe(c), c.interval, c.threshold));
  }
  const jobs: Job[] = checks.map((check, i) => ({
    name: `health-check-${i}`,
    interval: check.interval,
    firstDelay: 0,
    run: async () => {
      const before = check.error;
      await check.run();
      if (check.error !== before) {
        if (check.error) {
          logger.warn("health check failed", { check: check.name, error: check.error });
        } else logger.info("health check recovered", { check: check.name });
      }
    },
  }));
  const status = (): Record<string, string> => {
    const failed = failures(checks);
    if (lifecycle.draining) failed.draining = "the process is shutting down";
    return failed;
  };
  return Promise.resolve({
    name: "health",
    jobs,
    wrap: (inner: Registry): Registry =>
      decorate(inner, {
        async health(): Promise<HealthCheck[]> {
          const own = await inner.health();
          const configured = checks.map((c) => {
            const error = c.error;
            return error === null ? { name: c.name, ok: true } : { name: c.name, ok: false, error };
          });
          const drain = lifecycle.draining
            ? [{ name: "draining", ok: false, error: "the process is shutting down" }]
            : [];
          return [...own, ...configured, ...drain];
        },
      }),
    middleware: checks.length
      ? [(state, next) => {
        if (state.url.pathname === "/healthz") return next();
        const failed = failures(checks);
        const names = Object.keys(failed);
        if (!names.length) return next();
        return Promise.resolve(renderError(
          new RegistryError(
            "UNAVAILABLE",
            "health check failed: please see /debug/health",
            { detail: { checks: names }, retryAfter: 5 },
          ),
          state.request,
          logger,
          state.requestId,
        ));
      }]
      : [],
    debugRoutes: [{
      path: "/debug/health",
      handler: () => {
        const failed = status();
        return Promise.resolve(
          new Response(JSON.stringify(failed), {
            status: Object.keys(failed).length ? 503 : 200,
            headers: { "Content-Type": "application/json" },
          }),
        );
      },
    }],
  });
};
