import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseContentRange, parseRange } from "../../src/http/range.js";

describe("Range header", () => {
  it("parses closed, open and suffix ranges", () => {
    assert.deepEqual(parseRange("bytes=0-9", 100), { kind: "range", range: { start: 0, end: 9 } });
    assert.deepEqual(parseRange("bytes=90-", 100), { kind: "range", range: { start: 90, end: 99 } });
    assert.deepEqual(parseRange("bytes=-10", 100), { kind: "range", range: { start: 90, end: 99 } });
    assert.deepEqual(parseRange("bytes=95-200", 100), { kind: "range", range: { start: 95, end: 99 } });
  });

  it("reports ranges past the end as unsatisfiable", () => {
    assert.deepEqual(parseRange("bytes=100-", 100), { kind: "unsatisfiable" });
    assert.deepEqual(parseRange("bytes=-0", 100), { kind: "unsatisfiable" });
  });

  it("ignores malformed and multi-range headers", () => {
    for (const header of ["bytes=a-b", "items=0-1", "bytes=0-1,3-4", "bytes=5-1", "bytes=-"]) {
      assert.deepEqual(parseRange(header, 100), { kind: "none" }, header);
    }
  });
});

describe("Content-Range header", () => {
  it("accepts the spec's form and common variants", () => {
    assert.deepEqual(parseContentRange("0-99"), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange("bytes 100-199/1000"), { start: 100, end: 199 });
    assert.equal(parseContentRange(undefined), undefined);
  });

  it("rejects malformed ranges", () => {
    assert.equal(parseContentRange("99-0"), null);
    assert.equal(parseContentRange("abc"), null);
  });
});
