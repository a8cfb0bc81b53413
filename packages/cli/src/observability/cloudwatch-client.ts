import { createCloudWatchPublisher, type CloudWatchPublisher, type Logger, type PipelineMetrics } from "@zero-etl/core";

/** `observability.cloudwatch` of a pipeline config. */
export interface CloudWatchConfig {
  readonly namespace: string;
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly intervalSeconds?: number | undefined;
}

/**
 * Publishes the pipeline's metrics to CloudWatch with the AWS SDK (loaded
 * only when configured; credentials from the default provider chain).
 * Failed publications are logged as warnings, never fatal.
 */
export async function startCloudWatch(metrics: PipelineMetrics, pipeline: string, config: CloudWatchConfig, logger: Logger): Promise<CloudWatchPublisher> {
  const { CloudWatchClient, PutMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  const client = new CloudWatchClient({ region: config.region, ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }) });
  const publisher = createCloudWatchPublisher(metrics, {
    namespace: config.namespace,
    pipeline,
    intervalMs: (config.intervalSeconds ?? 60) * 1000,
    put: (input) => client.send(new PutMetricDataCommand({ Namespace: input.Namespace, MetricData: input.MetricData.map((d) => ({ ...d, Dimensions: [...d.Dimensions] })) })),
    onError: (error) => logger.warn("publishing metrics to cloudwatch failed", { namespace: config.namespace, error: (error as Error).message }),
  });
  return {
    publish: publisher.publish,
    async stop() {
      await publisher.stop();
      client.destroy();
    },
  };
}
