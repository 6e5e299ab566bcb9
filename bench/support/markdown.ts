/** Markdown tables and number formats shared by the reports in docs/benchmarks.md. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const alignment = header.map((_, column) => (column === 0 ? '---' : '---:'));
  return [line(header), line(alignment), ...rows.map(line)];
}

export function perSecond(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function microseconds(value: number | undefined): string {
  return value === undefined ? '–' : `${value.toFixed(1)} µs`;
}

/** A `###` heading, a blank line, its body and a blank line. */
export function subsection(title: string, body: readonly string[]): string[] {
  return [`### ${title}`, '', ...body, ''];
}
