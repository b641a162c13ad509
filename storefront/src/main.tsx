import { render } from 'preact';
import { App } from './App';
import { auth } from './state';
import './styles.css';

auth.init();
render(<App />, document.getElementById('app')!);
