/**
 * The course's Validate button (it replaces nbgrader's): save the notebook, have the server run
 * it from the top in a fresh kernel (nbgrader's Validator, flowlib.course.lab_validate), then
 * show the points of every exercise, each failing one with its one short message, and
 * nbgrader's own checks (a changed read-only cell, a changed cell type).
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, showDialog, ToolbarButton } from '@jupyterlab/apputils';
import { PathExt, URLExt } from '@jupyterlab/coreutils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

/** One exercise's points, as the server reports them. */
interface IExercise {
  exercise: string;
  earned: number;
  possible: number;
  message: string;
}

/** One of nbgrader's own checks that failed: its warning and the cells it names. */
interface ICheck {
  warning: string;
  cells: string[];
}

/** What POST /flowlib/validate answers. */
interface IResult {
  notebook: string;
  exercises: IExercise[];
  earned: number;
  possible: number;
  passed: boolean;
  checks: ICheck[];
}

const ROUTE = ['flowlib', 'validate'];

async function requestValidation(path: string): Promise<IResult> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, ...ROUTE);
  const init = { method: 'POST', body: JSON.stringify({ path }) };
  const response = await ServerConnection.makeRequest(url, init, settings);
  let data: any;
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (!response.ok || data.error) {
    const why = data.error ?? data.message ?? `${response.status} ${response.statusText}`;
    throw new Error(`the server could not validate ${path}: ${why}`);
  }
  return data as IResult;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  className = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) {
    node.className = className;
  }
  return node;
}

function points(earned: number, possible: number): string {
  return `${earned} of ${possible}`;
}

function pointsTable(result: IResult): HTMLTableElement {
  const table = element('table', '', 'flowlib-validation-points');
  const head = table.createTHead().insertRow();
  for (const title of ['Exercise', 'Points', '']) {
    head.appendChild(element('th', title));
  }
  const body = table.createTBody();
  for (const item of result.exercises) {
    const row = body.insertRow();
    row.className = item.earned === item.possible ? 'flowlib-exercise-passed' : 'flowlib-exercise-failed';
    row.dataset.exercise = item.exercise;
    row.appendChild(element('td', item.exercise));
    row.appendChild(element('td', points(item.earned, item.possible), 'flowlib-exercise-points'));
    row.appendChild(element('td', item.message, 'flowlib-exercise-message'));
  }
  const total = table.createTFoot().insertRow();
  total.appendChild(element('td', 'total'));
  total.appendChild(element('td', `${points(result.earned, result.possible)} point(s)`, 'flowlib-total-points'));
  total.appendChild(element('td'));
  return table;
}

/** The dialog's body: a summary line, nbgrader's checks, the table of points. */
function resultNode(result: IResult): HTMLElement {
  const root = element('div', '', `flowlib-validation flowlib-validation-${result.passed ? 'passed' : 'failed'}`);
  root.id = 'flowlib-validation';
  const total = points(result.earned, result.possible);
  const summary = result.passed
    ? `Every test passes: ${total} point(s).`
    : result.exercises.length
      ? `${total} point(s) so far.`
      : 'Your notebook could not be checked:';
  root.appendChild(element('p', summary, 'flowlib-validation-summary'));
  for (const check of result.checks) {
    const block = element('div', '', 'flowlib-validation-check');
    block.appendChild(element('p', check.warning));
    for (const source of check.cells) {
      block.appendChild(element('pre', source));
    }
    root.appendChild(block);
  }
  if (result.exercises.length) {
    root.appendChild(pointsTable(result));
    root.appendChild(element('p', 'These are the visible tests; hidden tests run when your notebook is graded.',
      'flowlib-validation-note'));
  }
  return root;
}

function errorNode(error: unknown): HTMLElement {
  const root = element('div', '', 'flowlib-validation flowlib-validation-error');
  root.id = 'flowlib-validation';
  root.appendChild(element('pre', error instanceof Error ? error.message : String(error)));
  return root;
}

async function validate(panel: NotebookPanel, button: ToolbarButton): Promise<void> {
  button.enabled = false;
  button.pressed = true;
  let body: HTMLElement;
  try {
    await panel.context.save();
    body = resultNode(await requestValidation(panel.context.path));
  } catch (error) {
    body = errorNode(error);
  } finally {
    button.enabled = true;
    button.pressed = false;
  }
  await showDialog({
    title: `Validate: ${PathExt.basename(panel.context.path)}`,
    body: new Widget({ node: body }),
    buttons: [Dialog.okButton()]
  });
}

/** Adds the Validate button to every notebook's toolbar. */
class ValidateButton implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  createNew(panel: NotebookPanel): IDisposable {
    const button: ToolbarButton = new ToolbarButton({
      className: 'flowlib-validate-button',
      label: 'Validate',
      tooltip: 'Save, run this notebook from the top in a fresh kernel, and show the points of every exercise',
      onClick: () => void validate(panel, button)
    });
    panel.toolbar.insertItem(10, 'flowlib-validate', button);
    return button;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@flowlib/validate:plugin',
  description: "The course's Validate button: points per exercise",
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    app.docRegistry.addWidgetExtension('Notebook', new ValidateButton());
  }
};

export default plugin;
