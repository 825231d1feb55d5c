import { describe, expect, it } from "vitest";
import { retryOnDeadlock } from "../../supabase/functions/_shared/db/deadlock.ts";

const deadlock = () => Object.assign(new Error("deadlock detected"), { code: "40P01" });

describe("retryOnDeadlock", () => {
  it("a statement chosen as a deadlock's victim runs again and its answer is returned", async () => {
    let calls = 0;
    const answer = await retryOnDeadlock("test", async () => {
      calls++;
      if (calls === 1) throw deadlock();
      return "written";
    });
    expect(answer).toBe("written");
    expect(calls).toBe(2);
  });

  it("the third deadlock in a row is thrown; any other error at once", async () => {
    let calls = 0;
    await expect(retryOnDeadlock("test", async () => {
      calls++;
      throw deadlock();
    })).rejects.toThrow("deadlock detected");
    expect(calls).toBe(3);
    calls = 0;
    await expect(retryOnDeadlock("test", async () => {
      calls++;
      throw Object.assign(new Error("value too long"), { code: "22001" });
    })).rejects.toThrow("value too long");
    expect(calls).toBe(1);
  });
});
