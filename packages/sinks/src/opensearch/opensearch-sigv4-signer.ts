import type { ClientOptions } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws";

/** AWS credentials as the AWS SDK's providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/**
 * SigV4 request signing for Amazon OpenSearch Service (`service: "es"`, a
 * domain) or Amazon OpenSearch Serverless (`"aoss"`, a collection).
 */
export interface OpenSearchAwsAuth {
  readonly type: "aws-sigv4";
  /** The region of the domain or collection, e.g. `eu-west-1`. */
  readonly region: string;
  readonly service: "es" | "aoss";
  /**
   * Where credentials come from; default the AWS SDK's default chain
   * (environment, shared config and SSO, web identity, ECS and EC2 instance
   * roles), refreshed by the SDK before they expire.
   */
  readonly credentials?: () => Promise<AwsCredentials>;
}

/**
 * The client options that sign every request with SigV4 (the official
 * client's `AwsSigv4Signer`, which also sends `x-amz-content-sha256`, needed
 * by Serverless). Credentials are loaded on the first request, never logged.
 */
export function awsSigv4ClientOptions(auth: OpenSearchAwsAuth): Pick<ClientOptions, "Connection" | "Transport"> {
  const signer = AwsSigv4Signer({
    region: auth.region,
    service: auth.service,
    // the signer's declared Credentials type is the SDK's; ours has the same fields
    getCredentials: (auth.credentials ?? defaultCredentials()) as NonNullable<Parameters<typeof AwsSigv4Signer>[0]["getCredentials"]>,
  });
  return { Connection: signer.Connection, Transport: signer.Transport };
}

/** The AWS SDK's default credential chain, loaded only when a request needs it. */
function defaultCredentials(): () => Promise<AwsCredentials> {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    provider ??= import("@aws-sdk/credential-provider-node").then(({ defaultProvider }) => defaultProvider());
    return (await provider)();
  };
}
