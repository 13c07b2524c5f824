export * from "./types.js";
export * from "./state.js";
