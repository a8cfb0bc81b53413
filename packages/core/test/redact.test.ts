import { describe, expect, it } from "vitest";
import { redactSecrets, redactText } from "@zero-etl/core";

describe("redaction", () => {
  it("removes URL passwords and secret fields", () => {
    expect(redactText("connect postgres://app:s3cr3t@db:5432/x failed")).toBe("connect postgres://app:***@db:5432/x failed");
    expect(redactText("password=hunter2 host=x")).toBe("password=*** host=x");
    expect(redactSecrets({ url: "mysql://u:p@h/d", password: "x", nested: { secretAccessKey: "k", region: "eu" } })).toEqual({
      url: "mysql://u:***@h/d",
      password: "***",
      nested: { secretAccessKey: "***", region: "eu" },
    });
  });
});
