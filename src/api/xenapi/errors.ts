/**
 * XenAPI failures: an error code from the XenAPI reference (`SESSION_INVALID`,
 * `HANDLE_INVALID`, …) and its parameters, sent to clients as
 * `{Status: "Failure", ErrorDescription: [code, ...params]}` (XML-RPC) or a JSON-RPC error.
 */
export class XenApiError extends Error {
  constructor(
    readonly code: string,
    readonly params: string[] = [],
  ) {
    super(`${code}(${params.join(', ')})`);
  }

  /** The ErrorDescription array. */
  get description(): string[] {
    return [this.code, ...this.params];
  }
}

export const SESSION_INVALID = 'SESSION_INVALID';
export const SESSION_AUTHENTICATION_FAILED = 'SESSION_AUTHENTICATION_FAILED';
export const HANDLE_INVALID = 'HANDLE_INVALID';
export const UUID_INVALID = 'UUID_INVALID';
export const VM_BAD_POWER_STATE = 'VM_BAD_POWER_STATE';
export const MESSAGE_METHOD_UNKNOWN = 'MESSAGE_METHOD_UNKNOWN';
export const MESSAGE_PARAMETER_COUNT_MISMATCH = 'MESSAGE_PARAMETER_COUNT_MISMATCH';
export const FIELD_TYPE_ERROR = 'FIELD_TYPE_ERROR';
export const INTERNAL_ERROR = 'INTERNAL_ERROR';
export const EVENTS_LOST = 'EVENTS_LOST';
export const OPERATION_NOT_ALLOWED = 'OPERATION_NOT_ALLOWED';
