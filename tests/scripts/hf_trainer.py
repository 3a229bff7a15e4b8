"""The transformers Trainer on a tiny GPT-2 made from a config: gradient accumulation,
clipping, evaluation every few steps."""

import tempfile

import torch
from _record import Recorder
from torch.utils.data import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

rec = Recorder(__file__)


class Tokens(Dataset):
    def __init__(self, count, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 32, (count, 8), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        return {"input_ids": self.ids[index], "labels": self.ids[index]}


class Logged(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            rec.logged("step_loss", logs["loss"])  # what the Trainer logs: rounded to 4 places
        if logs and "eval_loss" in logs:
            rec.val(logs["eval_loss"])


def main():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=32, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(config)
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
        max_grad_norm=1.0,
        learning_rate=1e-3,
        num_train_epochs=1,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=4,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=Tokens(32, 1), eval_dataset=Tokens(8, 2), callbacks=[Logged()]
    )
    trainer.train()


if __name__ == "__main__":
    main()
