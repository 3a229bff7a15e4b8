"""Plain SGD written by hand, in the shape of pytorch/examples' word language model: no
optimizer at all. model.zero_grad() at the top of each batch, clip_grad_norm_, then
p.data.add_(p.grad, alpha=-lr) for every parameter; an evaluation under no_grad after each
epoch, and the learning rate divided by 4 when validation does not improve."""

import math

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


class TinyRNN(nn.Module):
    def __init__(self, vocab=12, hidden=16):
        super().__init__()
        self.encoder = nn.Embedding(vocab, hidden)
        self.rnn = nn.GRU(hidden, hidden)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.encoder(tokens), hidden)
        return self.decoder(output), hidden


def batches(data, bptt=5):
    for i in range(0, data.size(0) - 1, bptt):
        length = min(bptt, data.size(0) - 1 - i)
        yield data[i : i + length], data[i + 1 : i + 1 + length].reshape(-1)


def evaluate(model, criterion, data):
    model.eval()
    total, count = 0.0, 0
    hidden = torch.zeros(1, 4, 16)
    with torch.no_grad():
        for tokens, targets in batches(data):
            output, hidden = model(tokens, hidden)
            total += len(tokens) * criterion(output.view(-1, 12), targets).item()
            count += len(tokens)
    return total / count


def main():
    torch.manual_seed(0)
    train_data = torch.randint(0, 12, (21, 4))
    val_data = torch.randint(0, 12, (11, 4))
    model = TinyRNN()
    criterion = nn.CrossEntropyLoss()
    lr, clip, best = 5.0, 0.25, None
    for epoch in range(1, 4):
        model.train()
        hidden = torch.zeros(1, 4, 16)
        for batch, (tokens, targets) in enumerate(batches(train_data)):
            rec.position(epoch - 1, batch)
            model.zero_grad()
            hidden = hidden.detach()
            output, hidden = model(tokens, hidden)
            loss = criterion(output.view(-1, 12), targets)
            rec.loss(loss)
            loss.backward()
            rec.grads(model)
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            rec.params(model)
            print(f"| epoch {epoch} | batch {batch} | lr {lr:.2f} | loss {loss.item():.4f}")
        val_loss = evaluate(model, criterion, val_data)
        rec.val(val_loss)
        print(f"| end of epoch {epoch} | valid loss {val_loss:.4f} | valid ppl {math.exp(val_loss):.2f}")
        if best is None or val_loss < best:
            best = val_loss
        else:
            lr /= 4.0


if __name__ == "__main__":
    main()
