// The part of the `xen-api` npm package (Xen Orchestra's XenAPI client, plain JavaScript) that
// the tests use.
declare module 'xen-api' {
  export interface Xapi {
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    readonly objectsFetched: Promise<void>;
    readonly objects: { all: Record<string, unknown> };
    call(method: string, ...args: unknown[]): Promise<string>;
    watchTask(ref: string): Promise<unknown>;
  }
  export function createClient(opts: {
    url: string;
    auth: { user: string; password: string };
    allowUnauthorized?: boolean;
    watchEvents?: boolean | string[];
  }): Xapi;
}
