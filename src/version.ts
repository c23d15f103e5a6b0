/** shardline's version: `shardline --version`, GET /status, the OpenAPI document. */
export const VERSION = '0.1.0';
