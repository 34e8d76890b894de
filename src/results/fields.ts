import { McdiagError } from "../util/errors.js";

/**
 * Typed reads of a parsed result, each naming the file and the field when
 * the value is missing or of the wrong type: a record read back is input,
 * and is checked like any other.
 */
export type Json = Record<string, unknown>;

export function badField(where: string, path: string, why: string): McdiagError {
  return new McdiagError("BAD_INPUT", `${where}: ${path} ${why}`, { file: where, field: path });
}

export function objectAt(o: Json, key: string, where: string, path = key): Json {
  const v = o[key];
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw badField(where, path, "is missing or not an object");
  return v as Json;
}

export function arrayAt(o: Json, key: string, where: string, path = key): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw badField(where, path, "is missing or not a list");
  return v;
}

/** A finite number ≥ `min` (0 unless given); whole with `int`. */
export function numberAt(o: Json, key: string, where: string, path = key, opts: { int?: boolean; min?: number } = {}) {
  const v = o[key];
  const min = opts.min ?? 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || (opts.int === true && !Number.isInteger(v))) {
    throw badField(where, path, `is missing or not ${opts.int === true ? "a whole number" : "a number"} ≥ ${min}`);
  }
  return v;
}

export function intAt(o: Json, key: string, where: string, path = key): number {
  return numberAt(o, key, where, path, { int: true });
}

export function stringAt(o: Json, key: string, where: string, path = key): string {
  const v = o[key];
  if (typeof v !== "string") throw badField(where, path, "is missing or not a string");
  return v;
}

export function boolAt(o: Json, key: string, where: string, path = key): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw badField(where, path, "is missing or not true/false");
  return v;
}

/** Counts by name: an object of whole numbers ≥ 0. */
export function countsAt(o: Json, key: string, where: string, path = key): Record<string, number> {
  const c = objectAt(o, key, where, path);
  for (const k of Object.keys(c)) intAt(c, k, where, `${path}.${k}`);
  return c as Record<string, number>;
}

/** Strings by name. */
export function stringsAt(o: Json, key: string, where: string, path = key): Record<string, string> {
  const c = objectAt(o, key, where, path);
  for (const k of Object.keys(c)) stringAt(c, k, where, `${path}.${k}`);
  return c as Record<string, string>;
}
