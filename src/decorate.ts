/**
 * @module
 * Decorators that replace a few members of an object and pass everything else through,
 * including members the decorated object gains later (a driver's optional capability, a
 * registry method another capability adds), with methods bound to the original.
 */

/** `inner` with the members of `overrides` replaced. */
export function decorate<T extends object>(inner: T, overrides: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T];
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (!bound.has(prop)) bound.set(prop, value.bind(target));
      return bound.get(prop);
    },
  });
}
