/** Queue priorities, lowest first: never-checked tokens jump ahead of refreshes and slow re-checks. */
export const Priority = { firstCheck: 0, refresh: 1, slow: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

export const MAX_BATCH = 10_000;
