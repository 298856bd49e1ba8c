// Temporary (until the app split lands): the one helper the footprint section shares with the app.

import { h, type Child } from "../dom";

/** `80.15 mg CO₂e` -> the number and its unit (shown smaller); text without a unit stays whole. */
export function splitUnit(text: string): Child[] {
  const m = /^(.*?\d)( \D.*)$/.exec(text);
  return m ? [m[1], h("span", { class: "unit" }, m[2])] : [text];
}
